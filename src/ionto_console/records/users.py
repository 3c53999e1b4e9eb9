"""The ``users`` table: local console accounts, shared by every station on the records database.

WHY in the records database (not a local file): a clinic with several
stations points them all at one PostgreSQL database, so an account created at
one station signs in at any other, and every account change lands in the same
hash-chained audit trail as the records it touches. The model is declared on
the records ``Base`` so ``open_database`` checks the table exists after
migrating (migration 0003 creates it). The business rules (hashing, roles,
auditing) live in ``ionto_console.accounts``; this module is only the shape.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime


class UserAccount(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    #: argon2id PHC string (salt and parameters inside), never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: Set when an administrator creates the account or sets its password: changed at first sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Failed sign-ins in the current window (``accounts`` decides slow-down and lockout from these).
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retry_not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
