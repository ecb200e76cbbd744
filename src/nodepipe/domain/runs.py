"""Runs and node runs as frozen values: who ran what, where, when, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class NodeRunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


ACTIVE_NODE_RUN_STATES = frozenset({NodeRunState.QUEUED, NodeRunState.RUNNING})


@dataclass(frozen=True, slots=True)
class Run:
    """One execution request: a set of nodes of a pipeline, an executor, who and when."""

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
    orchestrator_pid: int
    orchestrator_host: str
    orchestrator_started: str


@dataclass(frozen=True, slots=True)
class NodeRun:
    """One node's part in a run, with its log, exit code and the fingerprint it ran with."""

    id: str
    run_id: str
    node_id: str
    state: NodeRunState
    reasons: tuple[str, ...]
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    pid: int | None
    host: str
    fingerprint: str | None
    output_digest: str | None
    log_file: str
    cancel_requested: bool

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
