"""Alembic environment: runs on the connection ``open_database`` hands over.

WHY no alembic.ini: migrations run programmatically at start-up (the console
upgrades its own database), so the connection comes from
``config.attributes["connection"]``. For authoring a new revision, use
``alembic -x url=sqlite:///dev.sqlite3 revision --autogenerate`` with a
script_location pointing here; then the URL comes from ``-x url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ionto_console.records.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///path revision --autogenerate")
    with create_engine(url).begin() as conn:
        _run(conn)
