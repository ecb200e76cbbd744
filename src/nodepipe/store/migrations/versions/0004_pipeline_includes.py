"""Pipeline includes: the bundles a pipeline includes, and which of its nodes came from each.

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

ID = sa.String(16)
NAME = sa.String(100)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pipeline_includes",
        sa.Column("id", ID),
        sa.Column("pipeline_id", ID, nullable=False),
        sa.Column("namespace", NAME, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("loader", sa.String(16), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False, server_default="{}"),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_includes"),
        sa.UniqueConstraint("pipeline_id", "namespace", name="uq_pipeline_includes_namespace"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_pipeline_includes_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "include_members",
        sa.Column("include_id", ID),
        sa.Column("node_id", ID),
        sa.Column("key", NAME, nullable=False),
        sa.PrimaryKeyConstraint("include_id", "node_id", name="pk_include_members"),
        sa.ForeignKeyConstraint(
            ["include_id"],
            ["pipeline_includes.id"],
            name="fk_include_members_include_id_pipeline_includes",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["nodes.id"],
            name="fk_include_members_node_id_nodes",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_include_members_node_id", "include_members", ["node_id"])


def downgrade() -> None:
    op.drop_table("include_members")
    op.drop_table("pipeline_includes")
