"""Bodies of the event streams: live workspace events, background jobs, and live log chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from nodepipe.api.schemas.common import ErrorPublic, Schema
from nodepipe.domain.states import NodeState
from nodepipe.live.events import (
    GraphChanged,
    HubEvent,
    JobEnded,
    NodeStateChanged,
    Resync,
    RunBegan,
    RunCrashed,
    RunEnded,
)
from nodepipe.live.jobs import Job, JobStatus


class RunStartedEvent(Schema):
    type: Literal["run_started"] = "run_started"
    run_id: str
    pipeline_id: str
    node_ids: list[str] = Field(description="The planned nodes, now queued.")


class NodeStateEvent(Schema):
    type: Literal["node_state"] = "node_state"
    run_id: str
    node_id: str
    node_run_id: str
    state: NodeState | None = Field(description="None: skipped, back to its state before.")
    reason: str
    log_file: str


class RunFinishedEvent(Schema):
    type: Literal["run_finished"] = "run_finished"
    run_id: str
    pipeline_id: str
    status: str
    completed: int
    failed: int
    skipped: int
    cancelled: int


class RunCrashedEvent(Schema):
    type: Literal["run_crashed"] = "run_crashed"
    run_id: str | None
    pipeline_id: str
    message: str


class GraphChangedEvent(Schema):
    type: Literal["graph_changed"] = "graph_changed"
    action: str
    origin: str


class JobFinishedEvent(Schema):
    type: Literal["job_finished"] = "job_finished"
    job_id: str


class ResyncEvent(Schema):
    type: Literal["resync"] = "resync"


WorkspaceEvent = Annotated[
    RunStartedEvent
    | NodeStateEvent
    | RunFinishedEvent
    | RunCrashedEvent
    | GraphChangedEvent
    | JobFinishedEvent
    | ResyncEvent,
    Field(discriminator="type"),
]


def event_public(event: HubEvent) -> WorkspaceEvent:
    """The wire form of a hub event."""
    if isinstance(event, RunBegan):
        return RunStartedEvent(
            run_id=event.run_id, pipeline_id=event.pipeline_id, node_ids=list(event.node_ids)
        )
    if isinstance(event, NodeStateChanged):
        return NodeStateEvent(
            run_id=event.run_id,
            node_id=event.node_id,
            node_run_id=event.node_run_id,
            state=event.state,
            reason=event.reason,
            log_file=event.log_file,
        )
    if isinstance(event, RunEnded):
        return RunFinishedEvent(
            run_id=event.run_id,
            pipeline_id=event.pipeline_id,
            status=event.status,
            completed=event.completed,
            failed=event.failed,
            skipped=event.skipped,
            cancelled=event.cancelled,
        )
    if isinstance(event, RunCrashed):
        return RunCrashedEvent(
            run_id=event.run_id, pipeline_id=event.pipeline_id, message=event.message
        )
    if isinstance(event, GraphChanged):
        return GraphChangedEvent(action=event.action, origin=event.origin)
    if isinstance(event, JobEnded):
        return JobFinishedEvent(job_id=event.job_id)
    assert isinstance(event, Resync)
    return ResyncEvent()


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
