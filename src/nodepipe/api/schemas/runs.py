"""Bodies of runs: what to run, the plan and why, run history, node runs, logs, kills."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from nodepipe.api.schemas.common import Input, Schema
from nodepipe.api.schemas.fields import WholeNumber
from nodepipe.domain.runs import NodeRun, NodeRunState, Run, RunStatus
from nodepipe.execution.plan import Plan
from nodepipe.live.logs import LogText

MAX_JOBS = 1024
"""The most nodes at once a run may ask for over the API."""
Jobs = Annotated[int, Field(ge=1, le=MAX_JOBS), WholeNumber]


class RunCreate(Input):
    """Like ``nodepipe run``: filters given together intersect."""

    only: list[str] | None = Field(default=None, description="Run just these nodes.")
    from_: list[str] | None = Field(default=None, alias="from", description="From these down.")
    to: list[str] | None = Field(default=None, description="Up to these (and what they need).")
    force: bool = Field(default=False, description="Re-run the selection even if up to date.")
    jobs: Jobs | None = Field(default=None, description="Nodes at once (default: cores).")
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None


class PlannedNodePublic(Schema):
    node_id: str
    tag: str
    reasons: list[str]


class SkippedNodePublic(Schema):
    node_id: str
    tag: str
    reason: str


class PlanPublic(Schema):
    """The nodes to run in order with why, and the selected nodes left out with why."""

    run: list[PlannedNodePublic]
    skipped: list[SkippedNodePublic]
    blocked: list[PlannedNodePublic]

    @classmethod
    def of(cls, plan: Plan, tags: dict[str, str]) -> PlanPublic:
        def tag(node_id: str) -> str:
            return tags.get(node_id, node_id)

        return cls(
            run=[
                PlannedNodePublic(node_id=p.node_id, tag=tag(p.node_id), reasons=list(p.reasons))
                for p in plan.nodes
            ],
            skipped=[
                SkippedNodePublic(node_id=s.node_id, tag=tag(s.node_id), reason=s.reason)
                for s in plan.skipped
            ],
            blocked=[
                PlannedNodePublic(node_id=b.node_id, tag=tag(b.node_id), reasons=list(b.reasons))
                for b in plan.blocked
            ],
        )


class RunLaunched(Schema):
    """A run that started in the background (follow it on the event stream), or why not."""

    pipeline_id: str
    run_id: str | None = Field(description="None when nothing needed to run.")
    plan: PlanPublic


class RunPublic(Schema):
    id: str
    pipeline_id: str | None
    pipeline_tag: str
    requested_by: str
    executor: str
    status: RunStatus
    jobs: int
    force: bool
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: Run) -> RunPublic:
        return cls(
            id=run.id,
            pipeline_id=run.pipeline_id,
            pipeline_tag=run.pipeline_tag,
            requested_by=run.requested_by,
            executor=run.executor,
            status=run.status,
            jobs=run.jobs,
            force=run.force,
            created_at=run.created_at,
            finished_at=run.finished_at,
        )


class NodeRunPublic(Schema):
    id: str
    run_id: str
    node_id: str
    state: NodeRunState
    reasons: list[str]
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    exit_code: int | None
    host: str
    log_file: str
    cancel_requested: bool

    @classmethod
    def of(cls, node_run: NodeRun) -> NodeRunPublic:
        return cls(
            id=node_run.id,
            run_id=node_run.run_id,
            node_id=node_run.node_id,
            state=node_run.state,
            reasons=list(node_run.reasons),
            message=node_run.message,
            created_at=node_run.created_at,
            started_at=node_run.started_at,
            finished_at=node_run.finished_at,
            duration_seconds=node_run.duration_seconds,
            exit_code=node_run.exit_code,
            host=node_run.host,
            log_file=node_run.log_file,
            cancel_requested=node_run.cancel_requested,
        )


class KillRequest(Input):
    nodes: list[str] = Field(
        default_factory=list, description="Nodes to stop; none means every node of the pipeline."
    )


class LogPublic(Schema):
    node_run: NodeRunPublic
    text: str
    truncated: bool = Field(description="Only the end of a very long log is in ``text``.")
    active: bool = Field(description="The node run is still queued or running.")

    @classmethod
    def of(cls, log: LogText) -> LogPublic:
        return cls(
            node_run=NodeRunPublic.of(log.node_run),
            text=log.text,
            truncated=log.truncated,
            active=log.active,
        )
