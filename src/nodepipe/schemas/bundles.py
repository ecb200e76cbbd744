"""A pipeline's includes as both interfaces show them, and what updating one changed.

``IncludePublic`` reads a bundle service's ``IncludeView`` (the include's row, and the tags of
the nodes that came from it); ``IncludeUpdatePublic`` reads its ``UpdateResult``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import AliasPath, Field

from nodepipe.schemas.base import Schema


def _of_include(name: str) -> AliasPath:
    """Where an include view's ``name`` is read from: the include's row."""
    return AliasPath("include", name)


class IncludePublic(Schema):
    """One include of a pipeline (at any depth: ``features.sub`` is inside ``features``)."""

    namespace: str = Field(validation_alias=_of_include("namespace"))
    source: str = Field(
        validation_alias=_of_include("source"),
        description="As written in the including pipeline.toml.",
    )
    loader: str = Field(
        validation_alias=_of_include("loader"), description="file, fsspec or package."
    )
    location: str = Field(
        validation_alias=_of_include("location"), description="Where the bundle was found."
    )
    content_hash: str = Field(validation_alias=_of_include("content_hash"))
    updated_at: datetime = Field(validation_alias=_of_include("updated_at"))
    inputs: dict[str, str] = Field(
        validation_alias=_of_include("inputs"),
        description="Input of the bundle → node feeding it.",
    )
    params: dict[str, Any] = Field(validation_alias=_of_include("params"))
    nodes: list[str] = Field(description="Tags of the pipeline's nodes that came from it.")


class KeptCodePublic(Schema):
    """A node's code copied before an update replaced it."""

    node: str
    path: Path = Field(description="Where its code was copied (in the node's undone-edits/).")
    edited: bool = Field(
        description="True: it was edited here and the edits were replaced; false: it was "
        "included before nodepipe recorded what an include installs, so it could not be told."
    )


class IncludeUpdatePublic(Schema):
    """What updating an include changed, by node tag."""

    pipeline: str
    namespace: str
    content_hash: str
    changed: list[str] = Field(description="Code, lock or parameters changed: now stale.")
    added: list[str]
    removed: list[str]
    unchanged: list[str]
    kept: list[KeptCodePublic] = Field(
        description="The code of changed nodes copied before it was replaced."
    )
    disconnected: list[str] = Field(
        description="Edges into the include's nodes the update removed, as 'parent → child "
        "(slot)': the bundle (or the inputs it is fed by) no longer makes them, or never did "
        "(connected here)."
    )
