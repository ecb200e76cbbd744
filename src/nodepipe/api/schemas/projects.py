"""Request bodies of the project resource and of a pipeline's own fields (not its graph)."""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import Name


class ProjectCreate(Input):
    name: Name
    notes: str = ""


class ProjectUpdate(Input):
    name: Name | None = None
    notes: str | None = None


class PipelineCreate(Input):
    tag: Name
    project: str | None = Field(default=None, description="Project name or id (default project).")
    notes: str = ""


class PipelineUpdate(Input):
    """Any of: rename, set notes, move to another project, lock or unlock."""

    tag: Name | None = None
    notes: str | None = None
    project: str | None = Field(default=None, description="Move to this project.")
    locked: bool | None = None


class BranchCreate(Input):
    from_node: str = Field(description="The node the branch starts at (copied with all below).")
    tag: Name
    project: str | None = None


class PipelineCopyCreate(Input):
    tag: Name
    with_data: bool = False
    project: str | None = None


class MergeCreate(Input):
    sources: list[str] = Field(min_length=2)
    tag: Name
    with_data: bool = False
    project: str | None = None
    allow_duplicate_tag: bool = Field(
        default=False,
        description="Keep every tag: a later source's node whose tag is taken is not renamed "
        "TAG-copy (the job's message names the renamed nodes).",
    )
