"""Runs: run and node-run history, and each node's last successful fingerprint.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(16)
NAME = sa.String(100)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("fingerprint", sa.Text, nullable=True))
        batch.add_column(sa.Column("output_digest", sa.String(64), nullable=True))
    op.create_table(
        "runs",
        sa.Column("id", ID),
        sa.Column("pipeline_id", ID, nullable=True),
        sa.Column("pipeline_tag", NAME, nullable=False),
        sa.Column("requested_by", NAME, nullable=False),
        sa.Column("executor", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("jobs", sa.Integer, nullable=False),
        sa.Column("force", sa.Boolean, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("orchestrator_pid", sa.Integer, nullable=False),
        sa.Column("orchestrator_host", NAME, nullable=False),
        sa.Column("orchestrator_started", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_runs_pipeline_id_pipelines",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_runs_pipeline_id", "runs", ["pipeline_id"])
    op.create_table(
        "node_runs",
        sa.Column("id", ID),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("node_id", ID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("host", NAME, nullable=False, server_default=""),
        sa.Column("fingerprint", sa.Text, nullable=True),
        sa.Column("output_digest", sa.String(64), nullable=True),
        sa.Column("log_file", sa.Text, nullable=False, server_default=""),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_node_runs"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_node_runs_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name="fk_node_runs_node_id_nodes", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_node_runs_run_id", "node_runs", ["run_id"])
    op.create_index("ix_node_runs_node_id", "node_runs", ["node_id"])
    op.create_index("ix_node_runs_state", "node_runs", ["state"])


def downgrade() -> None:
    op.drop_table("node_runs")
    op.drop_table("runs")
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("output_digest")
        batch.drop_column("fingerprint")
