"""The bundle routes' bodies: what they answer (a pipeline's includes, what an update
changed) and the update's request (an upload's fields are form fields, in the route).

Only the API shows these shapes for now; the CLI's ``--json`` of ``pipeline includes``
prints the service's values as they are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.schemas.base import Schema
from nodepipe.services.bundles.service import IncludeView


class IncludeUpdate(Input):
    confirm_removals: bool = Field(
        default=False,
        description="Remove the include's nodes the bundle no longer has (without it, such an "
        "update is refused with 409 listing them, and nothing changes).",
    )


class IncludePublic(Schema):
    """One include of a pipeline (at any depth: ``features.sub`` is inside ``features``)."""

    namespace: str
    source: str = Field(description="As written in the including pipeline.toml.")
    loader: str = Field(description="file, fsspec or package.")
    location: str = Field(description="Where the bundle was found.")
    content_hash: str
    updated_at: datetime
    inputs: dict[str, str] = Field(description="Input of the bundle → node feeding it.")
    params: dict[str, Any]
    nodes: list[str] = Field(description="Tags of the pipeline's nodes that came from it.")


def include_public(view: IncludeView) -> IncludePublic:
    row = view.include
    return IncludePublic(
        namespace=row.namespace,
        source=row.source,
        loader=row.loader,
        location=row.location,
        content_hash=row.content_hash,
        updated_at=row.updated_at,
        inputs=dict(row.inputs),
        params=dict(row.params),
        nodes=list(view.nodes),
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
