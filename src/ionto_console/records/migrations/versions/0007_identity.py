"""Identity: sign-in lockout and first-sign-in password change on users, signer account and content digest on
signatures, and the clinic's settings table.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"  # chained after the merged 0005 and 0009
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failed_window_start", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("retry_not_before", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("signatures") as batch:
        batch.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=False, server_default=""))
    op.create_table(
        "clinic_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_clinic_settings")),
    )


def downgrade() -> None:
    op.drop_table("clinic_settings")
    with op.batch_alter_table("signatures") as batch:
        batch.drop_column("content_sha256")
        batch.drop_column("username")
    with op.batch_alter_table("users") as batch:
        for name in ("locked_until", "retry_not_before", "failed_window_start", "failed_count",
                     "must_change_password"):
            batch.drop_column(name)
