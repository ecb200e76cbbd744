"""Request bodies of runs (what to run, what to kill), and what only the web app is answered:
a run started in the background, a node run's log."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.api.schemas.fields import WholeNumber
from nodepipe.domain.runs import MAX_JOBS
from nodepipe.schemas.base import Schema
from nodepipe.schemas.runs import NodeRunPublic, PlanPublic

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
    shared_fs: bool | None = Field(
        default=None,
        description="False: Ray workers do not see the workspace; nodes travel through the "
        "workspace's object storage ([storage] url in nodepipe.toml; a URL cannot be given "
        "over the API). Default: [execution] shared-fs.",
    )


class RunLaunched(Schema):  # reads a Launched, its tags as the context (nodepipe.schemas.runs)
    """A run that started in the background (follow it on the event stream), or why not."""

    pipeline_id: str
    run_id: str | None = Field(description="None when nothing needed to run.")
    plan: PlanPublic


class KillRequest(Input):
    nodes: list[str] = Field(
        default_factory=list, description="Nodes to stop; none means every node of the pipeline."
    )


class LogPublic(Schema):  # reads a LogText
    node_run: NodeRunPublic
    text: str
    truncated: bool = Field(description="Only the end of a very long log is in ``text``.")
    active: bool = Field(description="The node run is still queued or running.")
