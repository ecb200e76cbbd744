"""Bodies of the project resource and of a pipeline's own fields (not its graph)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from nodepipe.api.schemas.common import Input, Schema
from nodepipe.api.schemas.fields import Name
from nodepipe.domain.model import Lineage, Pipeline, Project


class ProjectCreate(Input):
    name: Name
    notes: str = ""


class ProjectUpdate(Input):
    name: Name | None = None
    notes: str | None = None


class ProjectPublic(Schema):
    id: str
    name: str
    notes: str
    created_at: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectPublic:
        return cls(
            id=project.id, name=project.name, notes=project.notes, created_at=project.created_at
        )


class PipelineCreate(Input):
    tag: Name
    project: str | None = Field(default=None, description="Project name or id (default project).")
    notes: str = ""


class PipelineUpdate(Input):
    """Any of: rename, annotate, move to another project, lock or unlock."""

    tag: Name | None = None
    notes: str | None = None
    project: str | None = Field(default=None, description="Move to this project.")
    locked: bool | None = None


class PipelinePublic(Schema):
    id: str
    tag: str
    project_id: str
    notes: str
    locked: bool
    created_at: datetime

    @classmethod
    def of(cls, pipeline: Pipeline) -> PipelinePublic:
        return cls(
            id=pipeline.id,
            tag=pipeline.tag,
            project_id=pipeline.project_id,
            notes=pipeline.notes,
            locked=pipeline.locked,
            created_at=pipeline.created_at,
        )


class LineagePublic(Schema):
    """``pipeline_id`` came from ``source_pipeline_id`` by ``kind`` (branch, duplicate, merge)."""

    pipeline_id: str
    source_pipeline_id: str
    kind: str
    from_node_id: str | None

    @classmethod
    def of(cls, lineage: Lineage) -> LineagePublic:
        return cls(
            pipeline_id=lineage.pipeline_id,
            source_pipeline_id=lineage.source_pipeline_id,
            kind=lineage.kind,
            from_node_id=lineage.from_node_id,
        )


class ProjectDetail(Schema):
    """A project with its pipelines and how they came from each other."""

    project: ProjectPublic
    pipelines: list[PipelinePublic]
    lineage: list[LineagePublic]


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
