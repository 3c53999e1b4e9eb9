"""Sessions carry their station's identity, a heartbeat and the journal position already committed.

- ``station_id``: the UUID of the console that runs the session (``station_identity``);
  start-up recovery closes only its own station's sessions, never another console's.
- ``heartbeat_at``: updated by the sample writer at every commit; a running session whose
  heartbeat has lapsed is a crash, a fresh one is a live treatment.
- ``journal_seq``: the last local-journal record whose content is in the database, written in
  the same transaction as that content, so replaying the journal is exactly-once.

Revision ID: 0005
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("station_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("journal_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_sessions_station_id", ["station_id"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_station_id")
        batch.drop_column("journal_seq")
        batch.drop_column("heartbeat_at")
        batch.drop_column("station_id")
