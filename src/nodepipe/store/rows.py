"""Rows become domain values here, at the store boundary."""

from __future__ import annotations

import json

import sqlalchemy as sa

from nodepipe.domain.model import Edge, Group, Lineage, Membership, Node, Pipeline, Project
from nodepipe.domain.states import NodeState


def project_from_row(row: sa.RowMapping) -> Project:
    return Project(id=row["id"], name=row["name"], notes=row["notes"], created_at=row["created_at"])


def pipeline_from_row(row: sa.RowMapping) -> Pipeline:
    return Pipeline(
        id=row["id"],
        tag=row["tag"],
        project_id=row["project_id"],
        notes=row["notes"],
        locked=bool(row["locked"]),
        created_at=row["created_at"],
        base_packages=tuple(json.loads(row["base_packages"] or "[]")),
    )


def node_from_row(row: sa.RowMapping) -> Node:
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


def membership_from_row(row: sa.RowMapping) -> Membership:
    return Membership(
        pipeline_id=row["pipeline_id"],
        node_id=row["node_id"],
        x=float(row["x"]),
        y=float(row["y"]),
        group_id=row["group_id"],
    )


def edge_from_row(row: sa.RowMapping) -> Edge:
    return Edge(parent_id=row["parent_id"], child_id=row["child_id"], slot=row["slot"])


def group_from_row(row: sa.RowMapping) -> Group:
    return Group(
        id=row["id"],
        pipeline_id=row["pipeline_id"],
        name=row["name"],
        collapsed=bool(row["collapsed"]),
    )


def lineage_from_row(row: sa.RowMapping) -> Lineage:
    return Lineage(
        pipeline_id=row["pipeline_id"],
        source_pipeline_id=row["source_pipeline_id"],
        kind=row["kind"],
        from_node_id=row["from_node_id"],
    )
