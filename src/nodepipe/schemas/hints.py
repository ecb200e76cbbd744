"""A hint as JSON: what to do about an error, or about what a change could not do (the API's
error body and the views that carry one read it)."""

from __future__ import annotations

from pydantic import Field

from nodepipe.domain.errors import Action
from nodepipe.schemas.base import Schema


class HintPublic(Schema):
    """What to do about an error: an action of nodepipe's and its parameters. The web app
    names the action's menu item; the CLI names its command."""

    action: Action = Field(description="What to do, e.g. node.unlock (see the enum).")
    params: dict[str, str] = Field(
        default_factory=dict,
        description='What the action applies to, e.g. {"node": "3fa9c2d1"}.',
    )
