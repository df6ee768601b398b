"""scheduler leases: timers/reminders.claimed_by and claimed_until

Several `assistant serve` replicas on one database each run a scheduler. A replica leases a due row
(claimed_by = its id, claimed_until = now + lease) before it delivers the alert and marks it fired after;
a replica killed in between leaves a lease that runs out, and another replica fires the row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("timers", "reminders")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
            batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_until")
            batch.drop_column("claimed_by")
