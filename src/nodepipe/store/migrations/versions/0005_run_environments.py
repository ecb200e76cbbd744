"""Run environments: what each node run started with (interpreter, platform, code manifest),
and its locks by kind (``uv``; a conda lock can be added as another kind).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.String(16)
NAME = sa.String(100)


def upgrade() -> None:
    op.create_table(
        "node_run_environments",
        sa.Column("node_run_id", ID),
        sa.Column("python", sa.String(32), nullable=False),
        sa.Column("platform", NAME, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("node_run_id", name="pk_node_run_environments"),
        sa.ForeignKeyConstraint(
            ["node_run_id"],
            ["node_runs.id"],
            name="fk_node_run_environments_node_run_id_node_runs",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "node_run_locks",
        sa.Column("node_run_id", ID),
        sa.Column("kind", sa.String(16)),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("node_run_id", "kind", name="pk_node_run_locks"),
        sa.ForeignKeyConstraint(
            ["node_run_id"],
            ["node_runs.id"],
            name="fk_node_run_locks_node_run_id_node_runs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_node_run_locks_sha256", "node_run_locks", ["sha256"])


def downgrade() -> None:
    op.drop_table("node_run_locks")
    op.drop_table("node_run_environments")
