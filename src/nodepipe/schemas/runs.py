"""Runs as both interfaces show them: the plan and why, run history, node runs.

A plan names nodes by id; its items show each node's tag too, read from the tags given as the
validation context: ``PlanPublic.model_validate(plan, context=tags)`` (node id -> tag).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.schemas.base import Schema


def _tag_of(node_id: str, info: ValidationInfo) -> str:
    """The tag of ``node_id`` among the tags in the context (the id itself if it has none)."""
    tags: Mapping[str, str] = info.context or {}
    return tags.get(node_id, node_id)


NodeTag = Annotated[str, Field(validation_alias="node_id"), AfterValidator(_tag_of)]
"""A plan item's tag: its node id, looked up in the context's tags."""


class PlannedNodePublic(Schema):
    node_id: str
    tag: NodeTag
    reasons: list[str]


class SkippedNodePublic(Schema):
    node_id: str
    tag: NodeTag
    reason: str


class PlanPublic(Schema):
    """The nodes to run in order with why, and the selected nodes left out with why."""

    run: list[PlannedNodePublic] = Field(validation_alias="nodes")
    skipped: list[SkippedNodePublic]
    blocked: list[PlannedNodePublic]


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


class CondaPackagePublic(Schema):
    """One package a node run's conda lock pinned."""

    name: str
    version: str
    build: str = Field(description="Its build string (h1_0), one of several of a version.")
    channel: str = Field(description="The channel it came from, as the lock names it.")


class PastEnvironmentPublic(Schema):
    """What one node run ran with: its locks, interpreter, platform, packages and code."""

    run_id: str
    node_run_id: str
    node_id: str
    tag: str
    state: NodeRunState
    started_at: datetime | None
    python: str = Field(description="Version of the interpreter the node ran with.")
    interpreter: str = Field(
        description="Path of that interpreter, links followed (empty if not recorded)."
    )
    platform: str = Field(description="Platform it ran on, as wheels see it, with its C library.")
    locks: dict[str, str] = Field(
        description="Lock kind ('uv', 'conda') -> sha256 of the lock's text."
    )
    packages: dict[str, str] = Field(description="Every package the uv lock pins -> version.")
    conda_packages: list[CondaPackagePublic] = Field(
        description="Every package the conda lock pins (empty without one)."
    )
    code: str = Field(description="sha256 of the code manifest (path -> sha256 of each file).")
    files: dict[str, str] = Field(description="Every file of code/ as it ran -> its sha256.")
    params: dict[str, Any] = Field(description="The parameters it ran with.")


class StoredLockPublic(Schema):
    """The text of one lock a node run ran with, as stored."""

    run_id: str
    node_id: str
    tag: str
    kind: str = Field(description="'uv' or 'conda'.")
    file: str = Field(description="Its name in code/: uv.lock or conda.lock.")
    sha256: str
    text: str


class RunSummaryPublic(Schema):
    """One run of a pipeline's history: who started it and when (``run``), what ran, how it
    ended and how long it took."""

    run: RunPublic
    asked: int = Field(description="Nodes the run was to run (its plan).")
    ran: int = Field(description="Of those, the ones that started.")
    completed: int
    failed: int
    cancelled: int
    skipped: int = Field(
        description="Not run: a parent failed or was cancelled, a kill reached it before it "
        "started, or the run was stopped."
    )
    duration_seconds: float | None = Field(description="Request to end; null while it runs.")


class RunHistoryPublic(Schema):
    """A page of a pipeline's runs, newest first."""

    runs: list[RunSummaryPublic]
    next_before: datetime | None = Field(
        description="Pass as ``before`` for the next page; null on the last page."
    )
