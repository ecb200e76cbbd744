"""Shapes shared by every resource: the error body, the request base, workspace information."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from nodepipe.schemas.base import Schema
from nodepipe.schemas.hints import HintPublic


class Input(Schema):
    """Base of every request body: strict, so it accepts what its JSON schema says and no more
    (``0`` is not ``false``, ``"2"`` is not ``2``)."""

    model_config = ConfigDict(strict=True)


class ErrorPublic(Schema):
    """What every error answers with: a ``kind`` to branch on, a message for people, and the
    ``hint`` of what to do when an action of nodepipe's does it."""

    kind: str = Field(description="not_found, ambiguous, conflict, cycle, read_only, ...")
    message: str
    cycle: list[str] | None = Field(
        default=None, description="For a cycle: the node ids around it, the first repeated last."
    )
    details: list[dict[str, Any]] | None = None
    hint: HintPublic | None = Field(default=None, description="What to do about it, if known.")
    uv_output: str | None = Field(
        default=None,
        description="When uv failed: its full output, hints included, for whoever asks for the "
        "details (the message already says what is wrong in nodepipe's words).",
    )
    nodes: list[str] | None = Field(
        default=None,
        description="For an include update refused until removals are confirmed: the tags of "
        "the nodes it would remove; refused because nodes were edited here (kind ``edited``): "
        "those nodes.",
    )


class WorkspacePublic(Schema):
    root: str
    store: str
    python_version: str
    version: str
    token_required: bool = Field(
        default=False,
        description=(
            "True: every server requires its token (or a password login), loopback included."
        ),
    )


class Health(Schema):
    ok: bool = True


Names = list[str]
"""Node or pipeline names: ids, unambiguous tags or id prefixes."""
