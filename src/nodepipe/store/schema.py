"""Table definitions of the metadata store (SQLAlchemy Core); migrations build exactly these."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored as UTC on every backend (SQLite would drop the offset otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("nodepipe stores only time-zone-aware timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = sa.String(16)
NAME = sa.String(100)
TIMESTAMP = UtcDateTime()

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", NAME, nullable=False, unique=True),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", TIMESTAMP, nullable=False),
)

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tag", NAME, nullable=False, unique=True),
    sa.Column("project_id", ID, sa.ForeignKey("projects.id", ondelete="RESTRICT"), nullable=False),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("base_packages", sa.Text, nullable=False, server_default="[]"),
)

pipeline_lineage = sa.Table(
    "pipeline_lineage",
    metadata,
    sa.Column(
        "pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "source_pipeline_id",
        ID,
        sa.ForeignKey("pipelines.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("from_node_id", ID, nullable=True),
)

nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tag", NAME, nullable=False, index=True),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("state_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "owner_pipeline_id",
        ID,
        sa.ForeignKey("pipelines.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=True),
    sa.Column("output_digest", sa.String(64), nullable=True),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("collapsed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("pipeline_id", "name", name="uq_groups_pipeline_name"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column(
        "pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("node_id", ID, sa.ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("x", sa.Float, nullable=False, server_default="0"),
    sa.Column("y", sa.Float, nullable=False, server_default="0"),
    sa.Column("group_id", ID, sa.ForeignKey("groups.id", ondelete="SET NULL"), nullable=True),
    sa.Index("ix_memberships_node_id", "node_id"),
)

edges = sa.Table(
    "edges",
    metadata,
    sa.Column("child_id", ID, sa.ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("slot", sa.String(32), primary_key=True),
    sa.Column(
        "parent_id", ID, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.UniqueConstraint("parent_id", "child_id", name="uq_edges_parent_child"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="SET NULL"), nullable=True),
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
    sa.Index("ix_runs_pipeline_id", "pipeline_id"),
    sa.Index("ix_runs_finished_at", "finished_at"),
)

node_runs = sa.Table(
    "node_runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("node_id", ID, sa.ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False),
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
    sa.Index("ix_node_runs_run_id", "run_id"),
    sa.Index("ix_node_runs_node_id", "node_id"),
    sa.Index("ix_node_runs_state", "state"),
)

pipeline_includes = sa.Table(
    "pipeline_includes",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("pipeline_id", ID, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    sa.Column("namespace", NAME, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("loader", sa.String(16), nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False, server_default="{}"),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("pipeline_id", "namespace", name="uq_pipeline_includes_namespace"),
)

include_members = sa.Table(
    "include_members",
    metadata,
    sa.Column(
        "include_id",
        ID,
        sa.ForeignKey("pipeline_includes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("node_id", ID, sa.ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", NAME, nullable=False),
    sa.Index("ix_include_members_node_id", "node_id"),
)

pipeline_inputs = sa.Table(
    "pipeline_inputs",
    metadata,
    sa.Column("pipeline_id", ID, primary_key=True),
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("node_id", ID, primary_key=True),
    sa.ForeignKeyConstraint(
        ["pipeline_id", "node_id"],
        ["memberships.pipeline_id", "memberships.node_id"],
        ondelete="CASCADE",
    ),
    sa.Index("ix_pipeline_inputs_node_id", "node_id"),
)
"""The inputs a pipeline declares as a bundle (``[inputs]``): input name (a slot label) → the
nodes of the pipeline that take it, by id. A row lives as long as the node's membership: a node
deleted or taken out of the pipeline leaves every input, and an input with no node left is gone
(migration 0010)."""

node_run_environments = sa.Table(
    "node_run_environments",
    metadata,
    sa.Column(
        "node_run_id", ID, sa.ForeignKey("node_runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("python", sa.String(32), nullable=False),
    sa.Column("platform", NAME, nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("interpreter", sa.Text, nullable=False, server_default=""),
)

node_run_locks = sa.Table(
    "node_run_locks",
    metadata,
    sa.Column(
        "node_run_id", ID, sa.ForeignKey("node_runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
)

node_run_previous_states = sa.Table(
    "node_run_previous_states",
    metadata,
    sa.Column(
        "node_run_id", ID, sa.ForeignKey("node_runs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
)
"""The state and reason a node had when a run claimed it, by the node run: given back to a node
the run never started, also when its orchestrator died (crash recovery). None for node runs
claimed before revision 0011."""

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""A journal position: SQLite's AUTOINCREMENT needs an ``INTEGER PRIMARY KEY``."""

graph_changes = sa.Table(
    "graph_changes",
    metadata,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
    sa.Column("node_id", ID, nullable=False),
    sa.Column("txid", sa.BigInteger, nullable=True),
    sa.Index("ix_graph_changes_txid", "txid"),
    sqlite_autoincrement=True,
)
"""The graph's change journal, written by the database's own triggers (migration 0007): one row
per row of ``nodes``, ``memberships`` or ``edges`` inserted, updated or deleted, naming the node
whose member row or inputs it changes (``store.graph_journal``). ``txid``: PostgreSQL's
transaction (NULL on SQLite, whose writers commit in ``seq`` order)."""

graph_changes_floor = sa.Table(
    "graph_changes_floor",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("epoch", sa.String(32), nullable=False),
    sa.Column("pruned", sa.BigInteger, nullable=False, server_default="0"),
)
"""One row: the journal's epoch (random, made with it: another store's journal is another
epoch) and the newest position pruned (SQLite: a ``seq``; PostgreSQL: a ``txid``)."""

workspace_identity = sa.Table(
    "workspace_identity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("workspace_id", sa.String(32), nullable=False),
    sa.Column("root", sa.Text, nullable=False),
)
"""One row (``id`` 1): the id of the workspace this store belongs to, the same as its folder's
``.nodepipe/workspace-id``, and the root of the folder that last opened it (migration 0012;
``services.identity``)."""
