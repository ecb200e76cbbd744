"""Bodies of the event streams: live workspace events, background jobs, and live log chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, RootModel

from nodepipe.live.events import HubEvent
from nodepipe.live.jobs import Job, JobStatus
from nodepipe.schemas.base import Schema
from nodepipe.schemas.errors import ErrorPublic


# Pydantic reads the event dataclasses themselves: the stream's schema in the OpenAPI document,
# and the web app's types generated from it, come from the very types the runner emits.
class WorkspaceEvent(RootModel[Annotated[HubEvent, Field(discriminator="type")]]):
    """One message of the workspace's event stream: a run's events as the run emits them, and
    the web app's own (``run_crashed``, ``graph_changed``, ``job_finished``, ``resync``);
    ``type`` says which."""


class JobPublic(Schema):
    """A background job; when it ends, ``job_finished`` appears on the event stream."""

    id: str
    kind: str
    description: str
    status: JobStatus
    message: str = ""
    pipeline_id: str | None = None
    node_ids: list[str] = Field(default_factory=list)
    error: ErrorPublic | None = None
    created_at: datetime
    finished_at: datetime | None


class LogChunkEvent(Schema):
    """Text appended to a node run's log."""

    type: Literal["chunk"] = "chunk"
    text: str


class LogEndEvent(Schema):
    """The node run is over (or was over already): no more text will come."""

    type: Literal["end"] = "end"
    state: str


def job_public(job: Job, error: ErrorPublic | None) -> JobPublic:
    outcome = job.outcome
    return JobPublic(
        id=job.id,
        kind=job.kind,
        description=job.description,
        status=job.status,
        message=outcome.message if outcome else "",
        pipeline_id=outcome.pipeline_id if outcome else None,
        node_ids=list(outcome.node_ids) if outcome else [],
        error=error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
