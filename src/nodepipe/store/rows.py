"""Rows become domain values here, at the store boundary (for both read paths: SQLAlchemy's
rows and ``light_read``'s, which is why this module imports no SQLAlchemy)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from nodepipe.domain.model import Edge, Group, Lineage, Membership, Node, Pipeline, Project
from nodepipe.domain.runs import NodeRun, NodeRunState, Run, RunStatus
from nodepipe.domain.states import NodeState


class Row(Protocol):
    """A row by column name: SQLAlchemy's ``RowMapping`` or ``light_read``'s plain dict."""

    def __getitem__(self, key: str, /) -> Any: ...


def project_from_row(row: Row) -> Project:
    return Project(id=row["id"], name=row["name"], notes=row["notes"], created_at=row["created_at"])


def pipeline_from_row(row: Row) -> Pipeline:
    return Pipeline(
        id=row["id"],
        tag=row["tag"],
        project_id=row["project_id"],
        notes=row["notes"],
        locked=bool(row["locked"]),
        created_at=row["created_at"],
        base_packages=tuple(json.loads(row["base_packages"] or "[]")),
    )


def node_from_row(row: Row) -> Node:
    return Node(
        id=row["id"],
        tag=row["tag"],
        notes=row["notes"],
        state=NodeState(row["state"]),
        state_reason=row["state_reason"],
        locked=bool(row["locked"]),
        owner_pipeline_id=row["owner_pipeline_id"],
        created_at=row["created_at"],
    )


def membership_from_row(row: Row) -> Membership:
    return Membership(
        pipeline_id=row["pipeline_id"],
        node_id=row["node_id"],
        x=float(row["x"]),
        y=float(row["y"]),
        group_id=row["group_id"],
    )


def edge_from_row(row: Row) -> Edge:
    return Edge(parent_id=row["parent_id"], child_id=row["child_id"], slot=row["slot"])


def group_from_row(row: Row) -> Group:
    return Group(
        id=row["id"],
        pipeline_id=row["pipeline_id"],
        name=row["name"],
        collapsed=bool(row["collapsed"]),
    )


def lineage_from_row(row: Row) -> Lineage:
    return Lineage(
        pipeline_id=row["pipeline_id"],
        source_pipeline_id=row["source_pipeline_id"],
        kind=row["kind"],
        from_node_id=row["from_node_id"],
    )


def run_from_row(row: Row) -> Run:
    values = {key: row[key] for key in Run.__dataclass_fields__}
    values["status"] = RunStatus(row["status"])
    values["force"] = bool(row["force"])
    return Run(**values)


def node_run_from_row(row: Row) -> NodeRun:
    values = {key: row[key] for key in NodeRun.__dataclass_fields__}
    values["state"] = NodeRunState(row["state"])
    values["reasons"] = tuple(json.loads(row["reasons"]))
    values["cancel_requested"] = bool(row["cancel_requested"])
    return NodeRun(**values)


def origin_of(rows: Iterable[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """(node id, namespace, location) rows as node id → (namespace, location) of its deepest
    include (an include's include is named ``outer.inner``), whatever order they came in."""
    found: dict[str, tuple[str, str]] = {}
    for node_id, namespace, location in rows:
        kept = found.get(node_id)
        if kept is None or (namespace.count("."), namespace) > (kept[0].count("."), kept[0]):
            found[node_id] = (namespace, location)
    return found
