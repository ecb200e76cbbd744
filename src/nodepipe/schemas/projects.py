"""Projects and pipelines as both interfaces show them (a pipeline's own fields, not its graph)."""

from __future__ import annotations

from datetime import datetime

from nodepipe.schemas.base import Schema


class ProjectPublic(Schema):
    id: str
    name: str
    notes: str
    created_at: datetime


class PipelinePublic(Schema):
    id: str
    tag: str
    project_id: str
    notes: str
    locked: bool
    created_at: datetime


class LineagePublic(Schema):
    """``pipeline_id`` came from ``source_pipeline_id`` by ``kind`` (branch, duplicate, merge)."""

    pipeline_id: str
    source_pipeline_id: str
    kind: str
    from_node_id: str | None


class ProjectDetail(Schema):
    """A project with its pipelines and how they came from each other."""

    project: ProjectPublic
    pipelines: list[PipelinePublic]
    lineage: list[LineagePublic]
