"""Workspace core: projects, pipelines and their lineage, nodes, memberships, edges, groups.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(16)
NAME = sa.String(100)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("name", name="uq_projects_name"),
    )
    op.create_table(
        "pipelines",
        sa.Column("id", ID),
        sa.Column("tag", NAME, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipelines"),
        sa.UniqueConstraint("tag", name="uq_pipelines_tag"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_pipelines_project_id_projects",
            ondelete="RESTRICT",
        ),
    )
    op.create_table(
        "pipeline_lineage",
        sa.Column("pipeline_id", ID),
        sa.Column("source_pipeline_id", ID),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_node_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("pipeline_id", "source_pipeline_id", name="pk_pipeline_lineage"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_pipeline_lineage_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_pipeline_id"],
            ["pipelines.id"],
            name="fk_pipeline_lineage_source_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "nodes",
        sa.Column("id", ID),
        sa.Column("tag", NAME, nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("owner_pipeline_id", ID, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
        sa.ForeignKeyConstraint(
            ["owner_pipeline_id"],
            ["pipelines.id"],
            name="fk_nodes_owner_pipeline_id_pipelines",
            ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_nodes_tag", "nodes", ["tag"])
    op.create_index("ix_nodes_owner_pipeline_id", "nodes", ["owner_pipeline_id"])
    op.create_table(
        "groups",
        sa.Column("id", ID),
        sa.Column("pipeline_id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("collapsed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_groups"),
        sa.UniqueConstraint("pipeline_id", "name", name="uq_groups_pipeline_name"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_groups_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "memberships",
        sa.Column("pipeline_id", ID),
        sa.Column("node_id", ID),
        sa.Column("x", sa.Float, nullable=False, server_default="0"),
        sa.Column("y", sa.Float, nullable=False, server_default="0"),
        sa.Column("group_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("pipeline_id", "node_id", name="pk_memberships"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_memberships_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["nodes.id"], name="fk_memberships_node_id_nodes", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name="fk_memberships_group_id_groups",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_memberships_node_id", "memberships", ["node_id"])
    op.create_table(
        "edges",
        sa.Column("child_id", ID),
        sa.Column("slot", sa.String(32)),
        sa.Column("parent_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("child_id", "slot", name="pk_edges"),
        sa.UniqueConstraint("parent_id", "child_id", name="uq_edges_parent_child"),
        sa.ForeignKeyConstraint(
            ["child_id"], ["nodes.id"], name="fk_edges_child_id_nodes", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["nodes.id"], name="fk_edges_parent_id_nodes", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_edges_parent_id", "edges", ["parent_id"])


def downgrade() -> None:
    for table in ("edges", "memberships", "groups", "nodes", "pipeline_lineage", "pipelines"):
        op.drop_table(table)
    op.drop_table("projects")
