"""Runs: start one in the background, the plan (dry run), history (a pipeline's, a page at a
time, and its nodes' last runs), node runs and what each ran with, kill.

``POST /pipelines/{p}/runs`` answers as soon as the run is planned and its nodes claimed; its
progress then arrives on ``/events`` as the run's own events (``run_started``, ``node_started``,
``node_finished``... ``run_finished``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query

from nodepipe.api.deps import ChangesGraph, ServicesDep, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.runs import KillRequest, RunCreate, RunLaunched
from nodepipe.schemas.runs import (
    NodeRunPublic,
    PastEnvironmentPublic,
    PlanPublic,
    RunHistoryPublic,
    RunPublic,
    StoredLockPublic,
)
from nodepipe.services.runs.service import RunRequest

router = resource_router(tags=["runs"], errors=(404, 409))


def _request(pipeline: str, body: RunCreate) -> RunRequest:
    return RunRequest(
        pipeline,
        only=body.only,
        from_=body.from_,
        to=body.to,
        force=body.force,
        jobs=body.jobs,
        executor=body.executor,
        ray_address=body.ray_address,
        shared_fs=body.shared_fs,
    )


@router.post("/pipelines/{pipeline}/runs", status_code=202, dependencies=[ChangesGraph])
def start_run(pipeline: str, body: RunCreate, services: ServicesDep) -> RunLaunched:
    """Run what is stale or never ran (the whole selection with ``force``)."""
    launched = services.launcher.launch(_request(pipeline, body))
    return RunLaunched.model_validate(launched, context=launched.tags)


@router.post("/pipelines/{pipeline}/plan")
def plan_run(pipeline: str, body: RunCreate, ws: WorkspaceDep) -> PlanPublic:
    """What a run would do and why, without running or claiming anything."""
    result = ws.runs.plan(_request(pipeline, body))
    return PlanPublic.model_validate(result.plan, context=result.tags)


@router.post("/pipelines/{pipeline}/kill", dependencies=[ChangesGraph])
def kill(pipeline: str, body: KillRequest, ws: WorkspaceDep) -> list[NodeRunPublic]:
    """Stop queued or running nodes (all of the pipeline's when none are named); 409 if idle."""
    killed = ws.runs.kill(body.nodes, pipeline) if body.nodes else ws.runs.kill(pipeline=pipeline)
    return [NodeRunPublic.model_validate(nr) for nr in killed]


@router.get("/runs")
def list_runs(
    ws: WorkspaceDep,
    pipeline: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunPublic]:
    return [RunPublic.model_validate(run) for run in ws.runs.history(pipeline, limit)]


@router.get("/pipelines/{pipeline}/history")
def run_history(
    pipeline: str,
    ws: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[datetime | None, Query(description="A page's next_before.")] = None,
) -> RunHistoryPublic:
    """The pipeline's runs, newest first: who, when, what ran, outcome, duration; a page at
    a time."""
    return RunHistoryPublic.model_validate(ws.run_history.page(pipeline, limit, before))


@router.get("/pipelines/{pipeline}/last-runs")
def last_node_runs(pipeline: str, ws: WorkspaceDep) -> list[NodeRunPublic]:
    """The last finished run of each of the pipeline's nodes (their durations on the canvas)."""
    return [NodeRunPublic.model_validate(nr) for nr in ws.run_history.last_node_runs(pipeline)]


@router.get("/runs/{run}/node-runs")
def node_runs_of_run(run: str, ws: WorkspaceDep) -> list[NodeRunPublic]:
    return [NodeRunPublic.model_validate(nr) for nr in ws.runs.node_runs(run)]


@router.get("/runs/{run}/nodes/{node}/environment")
def past_environment(run: str, node: str, ws: WorkspaceDep) -> PastEnvironmentPublic:
    """What the node ran with in that run: interpreter, platform, uv and conda packages,
    locks, code (the run fixes the pipeline: ``node`` is a tag among the nodes that ran in it);
    422 when the run recorded no environment for it."""
    return PastEnvironmentPublic.model_validate(ws.run_envs.show(node, run))


@router.get("/runs/{run}/nodes/{node}/locks/{kind}")
def past_lock(
    run: str, node: str, kind: Literal["uv", "conda"], ws: WorkspaceDep
) -> StoredLockPublic:
    """The stored text of the ``uv`` (uv.lock) or ``conda`` (conda.lock) lock the node ran
    with in that run; 422 when it ran with none of that kind."""
    return StoredLockPublic.model_validate(ws.run_envs.lock(node, run, kind))


@router.get("/pipelines/{pipeline}/nodes/{node}/runs")
def node_history(pipeline: str, node: str, ws: WorkspaceDep) -> list[NodeRunPublic]:
    """The node's runs, newest first."""
    return [NodeRunPublic.model_validate(nr) for nr in ws.runs.node_history(node, pipeline)]
