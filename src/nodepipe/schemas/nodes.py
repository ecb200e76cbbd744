"""Nodes as both interfaces show them: the node, its details and parameters, a removal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, computed_field, model_validator

from nodepipe.domain.params import dump_params
from nodepipe.domain.states import NodeState
from nodepipe.schemas.base import Schema


class NodePublic(Schema):
    id: str
    tag: str
    notes: str
    state: NodeState
    state_reason: str
    locked: bool
    owner_pipeline_id: str
    created_at: datetime


class LinkPublic(Schema):
    slot: str
    node_id: str
    tag: str


class ParamsPublic(Schema):
    params: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _of_mapping(cls, value: object) -> object:
        """Read from a node's parameters: the mapping the services give (``params.yaml``)."""
        return {"params": value} if isinstance(value, Mapping) else value

    @computed_field(description="The parameters as YAML text, ready to edit.")  # type: ignore[prop-decorator]
    @property
    def yaml(self) -> str:
        return dump_params(self.params) if self.params else ""


class NodeDetail(Schema):  # reads a NodeDetails
    node: NodePublic
    owner_pipeline: str
    pipelines: list[str] = Field(description="Tags of every pipeline that shows this node.")
    inputs: list[LinkPublic]
    outputs: list[LinkPublic]
    folder: Path
    params: ParamsPublic
    params_text: str = Field(
        "", description="params.yaml as written, comments kept (what an editor should show)."
    )
    isolation: str = Field(
        description="'own' environment, 'shared:NAME', or 'interpreter:PATH' (not isolated)."
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="The version of params_text: a save of the parameters based on this text "
        "names it (a params.yaml changed since is refused)."
    )
    @property
    def params_version(self) -> str:
        from nodepipe.domain.node_files import params_version  # not for `node list`'s budget

        return params_version(self.params_text)


class RemovalPublic(Schema):  # reads a RemovalReport
    removed: list[str]
    deleted: list[str] = Field(description="Nodes whose folder (code and outputs) was deleted.")
    transferred: dict[str, str] = Field(description="Node id -> the pipeline that now owns it.")
    disconnected: list[str]


class ReplacementPublic(Schema):  # reads a Replacement
    """What ``node replace`` did: OLD's children now read NEW on the same slots."""

    old: NodePublic
    new: NodePublic
    rewired: list[str] = Field(description="'slot: child tag' of every child now reading NEW.")
    removal: RemovalPublic | None = Field(description="OLD's removal; null when it was kept.")
    relinked: list[str] = Field(
        description="Tags of the nodes that installed a package from OLD as a library node "
        "(env add --from-node) and now install it from NEW.",
    )
