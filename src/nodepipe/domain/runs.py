"""Runs and node runs as frozen values: who ran what, where, when, and how it ended.

How a node run ends is one ``RunOutcome``, from the executor that reports it to the browser
that shows it; the states it leaves the node run and the node in follow from it by the one rule
below (``RunOutcome.node_run_state``, ``RunOutcome.node_state``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.states import NodeState

MAX_JOBS = 1024
"""The most nodes at once a run may ask for, from any surface (and environments at once an
import of a bundle may sync)."""


def check_jobs(jobs: object, unit: str) -> None:
    """Refuse a number of ``unit`` at once (``nodes``, ``environments``) that is not a whole
    number from 1 to ``MAX_JOBS``; None (the default) is taken."""
    if jobs is None:
        return
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise InvalidInputError(f"jobs must be a whole number of {unit} at once, not {jobs!r}")
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInputError(f"jobs must be from 1 to {MAX_JOBS} {unit} at once, not {jobs}")


def check_limit(limit: object, most: int) -> int:
    """``limit`` (how many runs a page of history shows) if it is a whole number from 1 to
    ``most``, as the CLI's ``--limit`` and the web API's ``limit`` take it."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInputError(f"limit must be a whole number from 1 to {most}, not {limit!r}")
    return limit


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


class RunOutcome(StrEnum):
    """How a node run ended. ``ERROR``: nodepipe could not run the node (not the node's fault)."""

    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    ERROR = "error"

    @property
    def node_run_state(self) -> NodeRunState:
        """The state the node run ends in."""
        return _ENDS_IN[self][0]

    @property
    def node_state(self) -> NodeState:
        """The state the node is left in."""
        return _ENDS_IN[self][1]

    @classmethod
    def recorded_as(cls, state: NodeRunState) -> RunOutcome:
        """The outcome a finished node run's stored state stands for: the store keeps the
        state, so a timeout or an error reads back as ``FAILED``."""
        for outcome, (ended, _) in _ENDS_IN.items():
            if ended is state:
                return outcome
        raise ValueError(f"a {state.value} node run has not ended")


_ENDS_IN: dict[RunOutcome, tuple[NodeRunState, NodeState]] = {
    RunOutcome.COMPLETED: (NodeRunState.COMPLETED, NodeState.COMPLETED),
    RunOutcome.FAILED: (NodeRunState.FAILED, NodeState.FAILED),
    RunOutcome.TIMEOUT: (NodeRunState.FAILED, NodeState.FAILED),
    RunOutcome.CANCELLED: (NodeRunState.CANCELLED, NodeState.CANCELLED),
    RunOutcome.ERROR: (NodeRunState.FAILED, NodeState.FAILED),
}
"""The one rule: what each outcome leaves the node run and the node in."""


CANCELLED_BEFORE_IT_STARTED = "cancelled before it started"
"""What a node run's log and record say of a node that a cancel reached before its process
started (``TaskOutcome.cancelled_before_it_started``)."""


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How one node run ended, as its executor reports it."""

    node_run_id: str
    status: RunOutcome
    exit_code: int | None = None
    message: str = ""
    output_digest: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    fingerprint: str | None = None
    """The node's fingerprint as it launched, when it differs from the planned one (a lock
    relocked, a file edited meanwhile): the one kept with its outputs."""
    never_started: bool = False
    """A cancel reached the node before its process started (``cancelled_before_it_started``):
    the run skips it and the node keeps its state. A cancelled outcome without it is a node
    killed once its process may have started: it is recorded cancelled."""

    @classmethod
    def cancelled_before_it_started(cls, node_run_id: str) -> TaskOutcome:
        """The outcome of a node that a cancel reached before its process started."""
        return cls(
            node_run_id, RunOutcome.CANCELLED, None, CANCELLED_BEFORE_IT_STARTED, never_started=True
        )

    @property
    def reason(self) -> str:
        """Why the node is in the state this outcome leaves it in (empty when it completed)."""
        if self.status is RunOutcome.COMPLETED:
            return ""
        if self.status is RunOutcome.ERROR:
            return f"nodepipe could not run it: {self.message}"
        return self.message


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


def describe_exit(code: int) -> str:
    """How a program nodepipe started and waited for ended, in words; one wording for a node's
    process (its log's last line, its run's message) and for the tools nodepipe runs (uv):
    ``code`` is its return code, minus the signal for a process a signal ended ("exited with
    code 1", "killed by SIGTERM", "killed by signal 64" for a number with no name)."""
    if code >= 0:
        return f"exited with code {code}"
    import signal  # a process killed: not every command that reads runs needs the module

    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"
