"""Shapes shared by every resource: the request base, workspace information (the error body
is ``nodepipe.schemas.errors.ErrorPublic``, which ``--json`` prints too)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from nodepipe.schemas.base import Schema


class Input(Schema):
    """Base of every request body: strict, so it accepts what its JSON schema says and no more
    (``0`` is not ``false``, ``"2"`` is not ``2``)."""

    model_config = ConfigDict(strict=True)


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
