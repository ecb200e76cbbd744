"""Request bodies of a pipeline's graph: edges with slots, groups, canvas positions."""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import Coordinate, Name, Slot
from nodepipe.schemas.base import Schema


class EdgeCreate(Input):
    parent: str
    child: str
    slot: Slot | None = Field(default=None, description="Input label on the child; next free.")


class GroupCreate(Input):
    name: Name
    nodes: list[str] = Field(min_length=1)


class GroupUpdate(Input):
    """Any of: rename, collapse or expand, add nodes (moved from another group), take nodes
    out of this group (each must be in it); one change: refused in any part, none is made."""

    name: Name | None = None
    collapsed: bool | None = None
    add_nodes: list[str] | None = None
    remove_nodes: list[str] | None = None


class Ungrouping(Input):
    """Nodes (ids or tags) to take out of whatever group they are in."""

    nodes: list[str] = Field(min_length=1)


class NodePosition(Input):
    node_id: str
    x: Coordinate
    y: Coordinate


class PositionsUpdate(Input):
    positions: list[NodePosition]


class PositionsPublic(Schema):
    placed: int
