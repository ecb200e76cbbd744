"""Request bodies of the node resource (create, update, parameters, copies), and the removal
preview the web app confirms with."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import Coordinate, Name
from nodepipe.schemas.base import Schema


class NodeCreate(Input):
    tag: Name
    notes: str = ""
    template: Name | None = Field(
        default=None, description="Seed from this node: code and lock copied, nothing resolved."
    )
    shared_env: Name | None = Field(
        default=None, description="Use this shared environment instead of one of its own."
    )
    allow_duplicate_tag: bool = Field(
        default=False, description="Accept a tag another node of the pipeline already has."
    )
    x: Coordinate | None = Field(
        default=None, description="Canvas position (default: a free spot)."
    )
    y: Coordinate | None = None


class NodeUpdate(Input):
    """Any of: rename, set notes, lock or unlock, mark completed or stale by hand."""

    tag: Name | None = None
    notes: str | None = None
    notes_were: str | None = Field(
        default=None,
        description="With notes: the notes the edit began from (as read); notes changed since "
        "(another tab, the CLI) are a 409 of kind ``changed_on_disk`` and nothing is changed. "
        "Omitted: saved over whatever they are.",
    )
    locked: bool | None = None
    state: Literal["completed", "stale"] | None = None


class ParamsUpdate(Input):
    yaml: str = Field(description="The whole parameter mapping as YAML; validated before saving.")
    version: str | None = Field(
        default=None,
        max_length=128,
        description="The node's ``params_version`` the text was based on (from its details, or "
        "the ETag of the last save's answer): params.yaml changed since is a 409 of kind "
        "``changed_on_disk`` (its ``current_version`` says the version now) and nothing is "
        "written. Omitted: saved over whatever params.yaml holds.",
    )


class NodeCopyCreate(Input):
    nodes: list[str] = Field(min_length=1)
    into: str | None = Field(default=None, description="Target pipeline (default: this one).")
    with_data: bool = False
    tag: Name | None = Field(
        default=None, description="Tag of the copy (one node); default: a tag the target lacks."
    )
    allow_duplicate_tag: bool = False


class ReplacementCreate(Input):
    """Swap ``new`` in for ``old``: old's children read new on the same slots."""

    old: str
    new: str
    keep: bool = Field(default=False, description="Keep old in the pipeline (without children).")


class ReferenceCreate(Input):
    nodes: list[str] = Field(min_length=1)
    into: str
    allow_duplicate_tag: bool = Field(
        default=False,
        description="Show them even where the pipeline has a node with the same tag.",
    )


class DetachCreate(Input):
    nodes: list[str] = Field(min_length=1)
    with_data: bool = True


class RemovalEffectPublic(Schema):
    node_id: str
    tag: str
    fate: Literal["deleted", "moved", "removed"]
    new_owner: str | None
    has_outputs: bool


class RemovalPreviewPublic(Schema):  # reads a RemovalPreview
    """What deleting would do, for the confirmation; nothing was changed."""

    effects: list[RemovalEffectPublic]
    disconnected: list[str]
