"""Simulated boards on the record, and the demo database's mark.

``sessions.simulated`` and ``calibrations.simulated``: whether the board was
the simulator (set from how the console connected it: demo mode or the
simulator process, never guessed from a serial number). Existing rows were
made before the field existed and are kept as they were: not simulated.

``demo_marker``: one row in a demo database (``records.demo.mark_as_demo``),
so a clinical console can tell a demo database apart and refuse it, and demo
mode can refuse a clinic's database.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("calibrations") as batch:
        batch.add_column(sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "demo_marker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_marker")),
    )


def downgrade() -> None:
    op.drop_table("demo_marker")
    with op.batch_alter_table("calibrations") as batch:
        batch.drop_column("simulated")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("simulated")
