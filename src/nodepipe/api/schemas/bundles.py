"""The bundle routes' request body: updating an include (an upload's fields are form fields,
in the route). What they answer, a pipeline's includes and what an update changed, is shared
with the CLI: ``nodepipe.schemas.bundles``."""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input


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
