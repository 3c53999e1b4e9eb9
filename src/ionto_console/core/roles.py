"""Who may do what at the station: the roles and the signed-in account as plain values.

Qt-free and I/O-free, so the screens (``ui/``) can show a user and decide which
tabs to offer without importing the accounts store (``accounts.py``, which
reads and writes the records database). ``accounts`` re-exports these names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    THERAPIST = "therapist"
    ENGINEER = "engineer"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    """A signed-in (or listed) account; never carries the password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool = True
    #: An administrator set the password: the person chooses their own before anything else.
    must_change_password: bool = False

    @property
    def title(self) -> str:
        """How the window names the user: "Dana Weber (therapist)"."""
        return f"{self.display_name} ({self.role.value})"


def can_treat(role: Role) -> bool:
    return role in (Role.THERAPIST, Role.ADMIN)


def can_calibrate(role: Role) -> bool:
    return role in (Role.ENGINEER, Role.ADMIN)


def can_manage_users(role: Role) -> bool:
    return role is Role.ADMIN
