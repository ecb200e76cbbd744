"""Every SQL query nodepipe makes, as SQLAlchemy Core, behind ``StoreSession``.

A ``StoreSession`` lives for one transaction (see ``Store.read``/``Store.write``). Methods take
and return domain values; nothing outside this package sees a row or a table.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict
from typing import Unpack

import sqlalchemy as sa

from nodepipe.domain.model import Edge, Group, Lineage, Membership, Node, Pipeline, Project
from nodepipe.domain.states import NodeState
from nodepipe.store import rows
from nodepipe.store.base import update_by_id
from nodepipe.store.changes import (
    GroupChanges,
    MembershipChanges,
    NodeChanges,
    PipelineChanges,
    ProjectChanges,
    column_values,
)
from nodepipe.store.graph_queries import GraphQueries
from nodepipe.store.history_queries import HistoryQueries
from nodepipe.store.include_queries import IncludeQueries
from nodepipe.store.input_queries import InputQueries
from nodepipe.store.light_read import MEMBER_NODE_COLUMNS, EdgeRow, MemberRow
from nodepipe.store.run_queries import RunQueries
from nodepipe.store.schema import (
    edges,
    groups,
    memberships,
    nodes,
    pipeline_lineage,
    pipelines,
    projects,
)

_SET_STATE = update_by_id(nodes, "state", "state_reason")


class StoreSession(RunQueries, HistoryQueries, IncludeQueries, InputQueries, GraphQueries):
    """Queries within one open transaction."""

    # projects ---------------------------------------------------------------------------
    def insert_project(self, project: Project) -> None:
        self._execute(projects.insert().values(**asdict(project)))

    def get_project(self, project_id: str) -> Project | None:
        row = self._one(projects.select().where(projects.c.id == project_id))
        return rows.project_from_row(row) if row else None

    def list_projects(self) -> list[Project]:
        return [
            rows.project_from_row(r) for r in self._all(projects.select().order_by(projects.c.name))
        ]

    def update_project(self, project_id: str, **changes: Unpack[ProjectChanges]) -> None:
        statement = projects.update().where(projects.c.id == project_id)
        self._execute(statement.values(**column_values(changes)))

    def delete_project(self, project_id: str) -> None:
        self._execute(projects.delete().where(projects.c.id == project_id))

    # pipelines --------------------------------------------------------------------------
    def insert_pipeline(self, pipeline: Pipeline) -> None:
        self._execute(pipelines.insert().values(**column_values(asdict(pipeline))))

    def get_pipeline(self, pipeline_id: str) -> Pipeline | None:
        row = self._one(pipelines.select().where(pipelines.c.id == pipeline_id))
        return rows.pipeline_from_row(row) if row else None

    def get_pipelines(self, pipeline_ids: Collection[str]) -> dict[str, Pipeline]:
        statement = pipelines.select().where(pipelines.c.id.in_(list(pipeline_ids)))
        return {r["id"]: rows.pipeline_from_row(r) for r in self._all(statement)}

    def list_pipelines(self, project_id: str | None = None) -> list[Pipeline]:
        statement = pipelines.select().order_by(pipelines.c.tag)
        if project_id is not None:
            statement = statement.where(pipelines.c.project_id == project_id)
        return [rows.pipeline_from_row(r) for r in self._all(statement)]

    def update_pipeline(self, pipeline_id: str, **changes: Unpack[PipelineChanges]) -> None:
        statement = pipelines.update().where(pipelines.c.id == pipeline_id)
        self._execute(statement.values(**column_values(changes)))

    def delete_pipeline(self, pipeline_id: str) -> None:
        self._execute(pipelines.delete().where(pipelines.c.id == pipeline_id))

    def insert_lineage(self, lineage: Lineage) -> None:
        self._execute(pipeline_lineage.insert().values(**asdict(lineage)))

    def lineage(self, pipeline_ids: Collection[str] | None = None) -> list[Lineage]:
        statement = pipeline_lineage.select()
        if pipeline_ids is not None:
            ids = list(pipeline_ids)
            statement = statement.where(
                sa.or_(
                    pipeline_lineage.c.pipeline_id.in_(ids),
                    pipeline_lineage.c.source_pipeline_id.in_(ids),
                )
            )
        return [rows.lineage_from_row(r) for r in self._all(statement)]

    # nodes ------------------------------------------------------------------------------
    def insert_node(self, node: Node) -> None:
        self._execute(nodes.insert().values(**column_values(asdict(node))))

    def insert_nodes_shown(self, shown: Collection[tuple[Node, Membership]]) -> None:
        """Insert many nodes and their memberships: two statements (executemany)."""
        if shown:
            rows_ = [column_values(asdict(node)) for node, _ in shown]
            self._connection.execute(nodes.insert(), rows_)
            self._connection.execute(memberships.insert(), [asdict(m) for _, m in shown])

    def get_node(self, node_id: str) -> Node | None:
        row = self._one(nodes.select().where(nodes.c.id == node_id))
        return rows.node_from_row(row) if row else None

    def get_nodes(self, node_ids: Collection[str]) -> dict[str, Node]:
        statement = nodes.select().where(nodes.c.id.in_(list(node_ids)))
        return {r["id"]: rows.node_from_row(r) for r in self._all(statement)}

    def list_nodes(self, pipeline_id: str | None = None) -> list[Node]:
        statement = nodes.select().order_by(nodes.c.tag, nodes.c.id)
        if pipeline_id is not None:
            statement = statement.join(memberships, memberships.c.node_id == nodes.c.id).where(
                memberships.c.pipeline_id == pipeline_id
            )
        return [rows.node_from_row(r) for r in self._all(statement)]

    def update_node(self, node_id: str, **changes: Unpack[NodeChanges]) -> None:
        statement = nodes.update().where(nodes.c.id == node_id)
        self._execute(statement.values(**column_values(changes)))

    def set_states(self, reasons: dict[str, str], state: NodeState) -> None:
        """Put each node of ``reasons`` into ``state`` with its own reason (one executemany)."""
        if reasons:
            rows = [
                {"b_id": node_id, "state": state.value, "state_reason": reason}
                for node_id, reason in reasons.items()
            ]
            self._connection.execute(_SET_STATE, rows)

    def delete_node(self, node_id: str) -> None:
        self._execute(nodes.delete().where(nodes.c.id == node_id))

    def node_tags_with_pipelines(self) -> list[tuple[str, str, str]]:
        """(node id, node tag, pipeline tag) for every membership: what names resolve against."""
        statement = (
            sa.select(nodes.c.id, nodes.c.tag, pipelines.c.tag.label("pipeline_tag"))
            .select_from(nodes.join(memberships, memberships.c.node_id == nodes.c.id))
            .join(pipelines, pipelines.c.id == memberships.c.pipeline_id)
        )
        return [(r["id"], r["tag"], r["pipeline_tag"]) for r in self._all(statement)]

    # memberships ------------------------------------------------------------------------
    def insert_membership(self, membership: Membership) -> None:
        self._execute(memberships.insert().values(**asdict(membership)))

    def get_membership(self, pipeline_id: str, node_id: str) -> Membership | None:
        row = self._one(
            memberships.select().where(
                memberships.c.pipeline_id == pipeline_id, memberships.c.node_id == node_id
            )
        )
        return rows.membership_from_row(row) if row else None

    def memberships_of_pipeline(self, pipeline_id: str) -> list[Membership]:
        statement = memberships.select().where(memberships.c.pipeline_id == pipeline_id)
        return [rows.membership_from_row(r) for r in self._all(statement)]

    def pipelines_showing(self, node_ids: Collection[str]) -> dict[str, list[str]]:
        """For each node id, the ids of the pipelines that show it."""
        statement = memberships.select().where(memberships.c.node_id.in_(list(node_ids)))
        result: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
        for row in self._all(statement.order_by(memberships.c.pipeline_id)):
            result[row["node_id"]].append(row["pipeline_id"])
        return result

    def update_membership(
        self, pipeline_id: str, node_id: str, **changes: Unpack[MembershipChanges]
    ) -> None:
        self._execute(
            memberships.update()
            .where(memberships.c.pipeline_id == pipeline_id, memberships.c.node_id == node_id)
            .values(**column_values(changes))
        )

    def delete_membership(self, pipeline_id: str, node_id: str) -> None:
        self._execute(
            memberships.delete().where(
                memberships.c.pipeline_id == pipeline_id, memberships.c.node_id == node_id
            )
        )

    # edges ------------------------------------------------------------------------------
    def insert_edge(self, edge: Edge) -> None:
        self._execute(edges.insert().values(**asdict(edge)))

    def insert_edges(self, new_edges: Collection[Edge]) -> None:
        """Insert many edges in one statement (executemany)."""
        if new_edges:
            self._connection.execute(edges.insert(), [asdict(edge) for edge in new_edges])

    def delete_edge(self, parent_id: str, child_id: str) -> int:
        return self._execute(
            edges.delete().where(edges.c.parent_id == parent_id, edges.c.child_id == child_id)
        )

    def all_edges(self) -> list[Edge]:
        return [rows.edge_from_row(r) for r in self._all(edges.select())]

    def edges_into(self, child_ids: Iterable[str]) -> list[Edge]:
        statement = edges.select().where(edges.c.child_id.in_(list(child_ids)))
        return [rows.edge_from_row(r) for r in self._all(statement.order_by(edges.c.slot))]

    def edges_out_of(self, parent_ids: Iterable[str]) -> list[Edge]:
        statement = edges.select().where(edges.c.parent_id.in_(list(parent_ids)))
        return [rows.edge_from_row(r) for r in self._all(statement)]

    def edges_of_pipeline(self, pipeline_id: str) -> list[Edge]:
        """Edges whose child is shown in the pipeline (its parents are shown there too)."""
        members = sa.select(memberships.c.node_id).where(memberships.c.pipeline_id == pipeline_id)
        statement = edges.select().where(edges.c.child_id.in_(members))
        ordered = statement.order_by(edges.c.slot, edges.c.child_id)
        return [rows.edge_from_row(r) for r in self._all(ordered)]

    def edge_rows(self, pipeline_id: str) -> list[EdgeRow]:
        """``edges_of_pipeline`` as (parent, child, slot) rows."""
        return [(e.parent_id, e.child_id, e.slot) for e in self.edges_of_pipeline(pipeline_id)]

    def edge_rows_into(self, pipeline_id: str, node_ids: Collection[str]) -> list[EdgeRow]:
        """``edge_rows`` into the nodes ``node_ids``."""
        members = sa.select(memberships.c.node_id).where(memberships.c.pipeline_id == pipeline_id)
        statement = edges.select().where(
            edges.c.child_id.in_(members), edges.c.child_id.in_(list(node_ids))
        )
        ordered = statement.order_by(edges.c.slot, edges.c.child_id)
        return [(r["parent_id"], r["child_id"], r["slot"]) for r in self._all(ordered)]

    # groups -----------------------------------------------------------------------------
    def insert_group(self, group: Group) -> None:
        self._execute(groups.insert().values(**asdict(group)))

    def groups_of_pipeline(self, pipeline_id: str) -> list[Group]:
        statement = groups.select().where(groups.c.pipeline_id == pipeline_id)
        return [rows.group_from_row(r) for r in self._all(statement.order_by(groups.c.name))]

    def update_group(self, group_id: str, **changes: Unpack[GroupChanges]) -> None:
        statement = groups.update().where(groups.c.id == group_id)
        self._execute(statement.values(**column_values(changes)))

    def delete_group(self, group_id: str) -> None:
        self._execute(groups.delete().where(groups.c.id == group_id))

    # views ------------------------------------------------------------------------------
    def pipeline_members(self, pipeline_id: str) -> list[tuple[Node, Membership]]:
        """Every node shown in the pipeline with its membership, in one query."""
        statement = _members(pipeline_id, memberships.c.pipeline_id, memberships.c.node_id)
        return [(rows.node_from_row(r), rows.membership_from_row(r)) for r in self._all(statement)]

    def member_rows(self, pipeline_id: str) -> list[MemberRow]:
        """``pipeline_members`` as rows with each node's stored fingerprint and output digest
        (``store.light_read.MemberRow``), in one query."""
        statement = _members(pipeline_id, nodes.c.fingerprint, nodes.c.output_digest)
        return [tuple(r) for r in self._connection.execute(statement)]

    def member_rows_of(self, pipeline_id: str, node_ids: Collection[str]) -> list[MemberRow]:
        """``member_rows`` of the nodes ``node_ids`` that the pipeline shows."""
        statement = _members(pipeline_id, nodes.c.fingerprint, nodes.c.output_digest)
        statement = statement.where(nodes.c.id.in_(list(node_ids)))
        return [tuple(r) for r in self._connection.execute(statement)]


def _members(pipeline_id: str, *more: sa.ColumnElement[object]) -> sa.Select[tuple[object, ...]]:
    """The nodes shown in the pipeline by tag: a ``MemberRow``'s columns up to the group, then
    ``more``."""
    return (
        sa.select(
            *(nodes.c[c] for c in MEMBER_NODE_COLUMNS),
            memberships.c.x,
            memberships.c.y,
            memberships.c.group_id,
            *more,
        )
        .select_from(nodes.join(memberships, memberships.c.node_id == nodes.c.id))
        .where(memberships.c.pipeline_id == pipeline_id)
        .order_by(nodes.c.tag, nodes.c.id)
    )
