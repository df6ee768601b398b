"""turn vectors: a sentence vector per turn's request, for recalling earlier turns across conversations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "turn_vectors",
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_turn_vectors_turn_id_turns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_turn_vectors_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("turn_id", name=op.f("pk_turn_vectors")),
    )
    op.create_index(op.f("ix_turn_vectors_user_id"), "turn_vectors", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_turn_vectors_user_id"), table_name="turn_vectors")
    op.drop_table("turn_vectors")
