"""What a run reports as it goes: one frozen type per event, from the runner to the browser.

The runner emits these; the store recorder, the CLI's progress and the web app's event hub
listen, and the hub's stream sends them as they are: each event's ``type`` (its class name in
snake case) tells them apart on the wire. Events carry ids and tags, never whole plans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.runs import RunStatus, TaskOutcome
from nodepipe.domain.states import NodeState


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began: its planned nodes are queued."""

    run_id: str
    pipeline_id: str
    node_ids: tuple[str, ...]
    tags: dict[str, str]
    """Node id -> tag, for the nodes the run may name."""
    type: Literal["run_started"] = field(default="run_started", init=False)


@dataclass(frozen=True, slots=True)
class NodeRunEvent:
    """What the events about one node run of a run have in common."""

    run_id: str
    node_id: str
    node_run_id: str


@dataclass(frozen=True, slots=True)
class NodeSubmitted(NodeRunEvent):
    """The node's task went to the executor with the fingerprint it will run with."""

    fingerprint: str
    log_file: str
    type: Literal["node_submitted"] = field(default="node_submitted", init=False)


@dataclass(frozen=True, slots=True)
class NodePreparing(NodeRunEvent):
    """A long step of a node run besides its process, as it goes: ``done`` of ``total``
    ``unit`` (``files`` compiled from a large external checkout at its first launch, before
    the process starts; ``bytes`` of large new outputs recorded after it ended). Sent only for
    a step long enough to show; the store keeps nothing of it."""

    step: str
    done: int
    total: int
    unit: str = "files"
    type: Literal["node_preparing"] = field(default="node_preparing", init=False)


@dataclass(frozen=True, slots=True)
class NodeStarted(NodeRunEvent):
    """The node's process is up (``pid`` on ``host``): the node is running, with
    ``environment`` (None where it was not recorded: a run seen from another process)."""

    pid: int | None
    host: str
    environment: RunEnvironment | None = None
    type: Literal["node_started"] = field(default="node_started", init=False)


@dataclass(frozen=True, slots=True)
class NodeFinished(NodeRunEvent):
    """The node run ended: its outcome, and the state and reason that outcome leaves the node
    in (by the one rule of ``RunOutcome``)."""

    outcome: TaskOutcome
    state: NodeState
    reason: str
    type: Literal["node_finished"] = field(default="node_finished", init=False)

    @classmethod
    def ended(cls, run_id: str, node_id: str, outcome: TaskOutcome) -> NodeFinished:
        """The event for ``outcome``: how every producer builds it, so state and reason follow
        from the outcome."""
        state = outcome.status.node_state
        return cls(run_id, node_id, outcome.node_run_id, outcome, state, outcome.reason)


@dataclass(frozen=True, slots=True)
class NodeSkipped(NodeRunEvent):
    """A planned node that will not run after all (a parent failed, or the run was cancelled);
    it keeps the state it had before the run."""

    reason: str
    type: Literal["node_skipped"] = field(default="node_skipped", init=False)


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended: its status and how many of its nodes ended which way."""

    run_id: str
    pipeline_id: str
    status: RunStatus
    completed: int
    failed: int
    skipped: int
    cancelled: int
    type: Literal["run_finished"] = field(default="run_finished", init=False)


RunEvent = (
    RunStarted
    | NodeSubmitted
    | NodePreparing
    | NodeStarted
    | NodeFinished
    | NodeSkipped
    | RunFinished
)
Listener = Callable[[RunEvent], None]
