"""The bundle routes' request bodies: updating an include, declaring a pipeline's bundle
inputs (an upload's fields are form fields, in the route); and the inputs a pipeline declares.
What the others answer, a pipeline's includes and what an update changed, is shared with the
CLI: ``nodepipe.schemas.bundles``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import Slot, slot_keys
from nodepipe.schemas.base import Schema

MAX_INPUTS = 200
"""More inputs (or takers of one) than any bundle needs: a larger body is refused at once."""
NodeName = Annotated[str, Field(min_length=1, max_length=200)]


class IncludeUpdate(Input):
    confirm_removals: bool = Field(
        default=False,
        description="Remove the include's nodes the bundle no longer has (without it, such an "
        "update is refused with 409 listing them, and nothing changes).",
    )
    replace_edits: bool = Field(
        default=False,
        description="Replace the code of nodes edited in the workspace too, each copied first "
        "to its undone-edits/ folder (without it, such an update is refused with 409 listing "
        "them, and nothing changes).",
    )
    inputs: dict[Slot, NodeName] | None = Field(
        default=None,
        max_length=MAX_INPUTS,
        json_schema_extra=slot_keys,
        description="Feed the bundle's inputs from these nodes of the pipeline (input name → "
        "node id or tag) from now on, every input it declares now; null keeps what the include "
        "feeds (a bundle that renamed, added or dropped an input is then refused, 422).",
    )


class InputsDeclare(Input):
    """The bundle inputs a pipeline declares from now on (``bundle export --input``; ``{}``:
    none, ``--no-inputs``)."""

    inputs: dict[Slot, Annotated[list[NodeName], Field(min_length=1, max_length=MAX_INPUTS)]] = (
        Field(
            max_length=MAX_INPUTS,
            json_schema_extra=slot_keys,
            description="Input name (a slot) → the nodes (ids or tags) of the pipeline that "
            "take it on that slot when the bundle is included elsewhere; {} clears them.",
        )
    )


class DeclaredInputsPublic(Schema):
    """The bundle inputs a pipeline declares ([inputs])."""

    declared_inputs: dict[str, list[str]] = Field(
        description="Input name → the ids of the pipeline's nodes that take it."
    )
