"""Tamper evidence over whole records: each audit entry names the record it changed and that
record's content digest (with the digests of its parts, so verification can say what changed).

Revision ID: 0006
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0008"  # chained after the merged 0004 and 0008 already on main
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("record", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("content", sa.Text(), nullable=True))
    op.create_index("ix_audit_log_record", "audit_log", ["record"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_record", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("content")
        batch.drop_column("content_sha256")
        batch.drop_column("record")
