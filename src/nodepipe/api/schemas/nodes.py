"""Bodies of the node resource: create, update, details, parameters, copies and removal."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from nodepipe.api.schemas.common import Input, Schema
from nodepipe.api.schemas.fields import Coordinate, Name
from nodepipe.domain.model import Node
from nodepipe.domain.params import dump_params
from nodepipe.domain.states import NodeState
from nodepipe.domain.views import Link, NodeDetails, RemovalReport
from nodepipe.live.canvas import RemovalPreview


class NodeCreate(Input):
    tag: Name
    notes: str = ""
    template: str | None = Field(
        default=None, description="Seed from this node: code and lock copied, nothing resolved."
    )
    shared_env: str | None = Field(
        default=None, description="Use this shared environment instead of one of its own."
    )
    x: Coordinate | None = Field(
        default=None, description="Canvas position (default: a free spot)."
    )
    y: Coordinate | None = None


class NodeUpdate(Input):
    """Any of: rename, annotate, lock or unlock, mark completed or stale by hand."""

    tag: Name | None = None
    notes: str | None = None
    locked: bool | None = None
    state: Literal["completed", "stale"] | None = None


class NodePublic(Schema):
    id: str
    tag: str
    notes: str
    state: NodeState
    state_reason: str
    locked: bool
    owner_pipeline_id: str
    created_at: datetime

    @classmethod
    def of(cls, node: Node) -> NodePublic:
        return cls(
            id=node.id,
            tag=node.tag,
            notes=node.notes,
            state=node.state,
            state_reason=node.state_reason,
            locked=node.locked,
            owner_pipeline_id=node.owner_pipeline_id,
            created_at=node.created_at,
        )


class LinkPublic(Schema):
    slot: str
    node_id: str
    tag: str

    @classmethod
    def of(cls, link: Link) -> LinkPublic:
        return cls(slot=link.slot, node_id=link.node_id, tag=link.tag)


class ParamsPublic(Schema):
    params: dict[str, Any]
    yaml: str = Field(description="The parameters as YAML text, ready to edit.")

    @classmethod
    def of(cls, params: dict[str, Any]) -> ParamsPublic:
        return cls(params=params, yaml=dump_params(params) if params else "")


class NodeDetail(Schema):
    node: NodePublic
    owner_pipeline: str
    pipelines: list[str] = Field(description="Tags of every pipeline that shows this node.")
    inputs: list[LinkPublic]
    outputs: list[LinkPublic]
    folder: str
    params: ParamsPublic

    @classmethod
    def of(cls, details: NodeDetails) -> NodeDetail:
        return cls(
            node=NodePublic.of(details.node),
            owner_pipeline=details.owner_pipeline,
            pipelines=list(details.pipelines),
            inputs=[LinkPublic.of(link) for link in details.inputs],
            outputs=[LinkPublic.of(link) for link in details.outputs],
            folder=str(details.folder),
            params=ParamsPublic.of(details.params),
        )


class ParamsUpdate(Input):
    yaml: str = Field(description="The whole parameter mapping as YAML; validated before saving.")


class NodeCopyCreate(Input):
    nodes: list[str] = Field(min_length=1)
    into: str | None = Field(default=None, description="Target pipeline (default: this one).")
    with_data: bool = False


class ReferenceCreate(Input):
    nodes: list[str] = Field(min_length=1)
    into: str


class DetachCreate(Input):
    nodes: list[str] = Field(min_length=1)
    with_data: bool = True


class RemovalPublic(Schema):
    removed: list[str]
    deleted: list[str] = Field(description="Nodes whose folder (code and outputs) was deleted.")
    transferred: dict[str, str] = Field(description="Node id -> the pipeline that now owns it.")
    disconnected: list[str]

    @classmethod
    def of(cls, report: RemovalReport) -> RemovalPublic:
        return cls(
            removed=list(report.removed),
            deleted=list(report.deleted),
            transferred=dict(report.transferred),
            disconnected=list(report.disconnected),
        )


class RemovalEffectPublic(Schema):
    node_id: str
    tag: str
    fate: Literal["deleted", "moved", "removed"]
    new_owner: str | None
    has_outputs: bool


class RemovalPreviewPublic(Schema):
    """What deleting would do, for the confirmation; nothing was changed."""

    effects: list[RemovalEffectPublic]
    disconnected: list[str]

    @classmethod
    def of(cls, preview: RemovalPreview) -> RemovalPreviewPublic:
        effects = [
            RemovalEffectPublic(
                node_id=e.node_id,
                tag=e.tag,
                fate=e.fate,  # type: ignore[arg-type]
                new_owner=e.new_owner,
                has_outputs=e.has_outputs,
            )
            for e in preview.effects
        ]
        return cls(effects=effects, disconnected=list(preview.disconnected))
