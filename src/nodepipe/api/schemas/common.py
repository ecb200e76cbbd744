"""Shapes shared by every resource: the error body, the request base, workspace information."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from nodepipe.schemas.base import Schema


class Input(Schema):
    """Base of every request body: strict, so it accepts what its JSON schema says and no more
    (``0`` is not ``false``, ``"2"`` is not ``2``)."""

    model_config = ConfigDict(strict=True)


class ErrorPublic(Schema):
    """What every error answers with: a ``kind`` to branch on and a message for people."""

    kind: str = Field(description="not_found, ambiguous, conflict, cycle, read_only, ...")
    message: str
    cycle: list[str] | None = Field(
        default=None, description="For a cycle: the node ids around it, the first repeated last."
    )
    details: list[dict[str, Any]] | None = None


class WorkspacePublic(Schema):
    root: str
    store: str
    python_version: str
    version: str
    token_required: bool = Field(
        default=False, description="True when the server requires a token (not loopback)."
    )


class Health(Schema):
    ok: bool = True


Names = list[str]
"""Node or pipeline names: ids, unambiguous tags or id prefixes."""
