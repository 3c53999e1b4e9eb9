"""The treated site and its side on each session (issue 14: "Achilles tendon" was recorded nowhere),
and the link from a run to the interrupted run whose prescription it continues.

Revision ID: 0009
Revises: 0006 (rebased onto main, where 0004 -> 0008 -> 0006 are merged)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0005"  # chained after 0004, 0008, 0006 and 0005
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("site", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("side", sa.String(length=20), nullable=False, server_default=""))
        # the run whose prescription this one continues after an interruption (issue 14: the
        # dose already delivered was forgotten by the next run)
        batch.add_column(sa.Column("continues_session_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("continues_session_id")
        batch.drop_column("side")
        batch.drop_column("site")
