"""Run environments name the interpreter's path too, beside its version (empty for runs
recorded before).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("node_run_environments") as batch:
        batch.add_column(sa.Column("interpreter", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("node_run_environments") as batch:
        batch.drop_column("interpreter")
