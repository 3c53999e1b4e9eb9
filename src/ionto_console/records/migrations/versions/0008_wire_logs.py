"""The black box: each session's raw serial stream (both directions, time-stamped, zlib).

Revision ID: 0008
Revises: 0004 (the demo branch's migration, merged first; the contract said 0003)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_wire_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("raw_bytes", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_session_wire_logs_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_wire_logs")),
        sa.UniqueConstraint("session_id", name=op.f("uq_session_wire_logs_session_id")),
    )


def downgrade() -> None:
    op.drop_table("session_wire_logs")
