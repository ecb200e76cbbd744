"""What a run reports as it goes: the runner emits these; the store and the displays listen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nodepipe.execution.plan import Plan
from nodepipe.execution.task import TaskOutcome


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    plan: Plan
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class NodeStarted:
    run_id: str
    node_id: str
    node_run_id: str
    pid: int | None
    host: str


@dataclass(frozen=True, slots=True)
class NodeSubmitted:
    """The node's task went to the executor with the fingerprint it will run with."""

    run_id: str
    node_id: str
    node_run_id: str
    fingerprint: str
    log_file: str


@dataclass(frozen=True, slots=True)
class NodeFinished:
    run_id: str
    node_id: str
    node_run_id: str
    outcome: TaskOutcome


@dataclass(frozen=True, slots=True)
class NodeSkipped:
    """A planned node that will not run after all (a parent failed, or the run was cancelled)."""

    run_id: str
    node_id: str
    node_run_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    status: str
    completed: int
    failed: int
    skipped: int
    cancelled: int


RunEvent = RunStarted | NodeSubmitted | NodeStarted | NodeFinished | NodeSkipped | RunFinished
Listener = Callable[[RunEvent], None]
