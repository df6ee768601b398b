"""barge-in: turns.interrupted (the user cut the spoken reply off)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing turns were heard to the end: false for them, then no server default (as the model says).
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("interrupted", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("turns") as batch:
        batch.alter_column(
            "interrupted", server_default=None, existing_type=sa.Boolean(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("interrupted")
