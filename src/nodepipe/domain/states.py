"""Node states and the one table of allowed transitions (DESIGN.md section 4.1)."""

from __future__ import annotations

from enum import StrEnum

from nodepipe.domain.errors import ConflictError


class NodeState(StrEnum):
    """Where a node stands with respect to its outputs."""

    READY = "ready"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STALE = "stale"
    CANCELLED = "cancelled"


_S = NodeState

ALLOWED_TRANSITIONS: dict[NodeState, frozenset[NodeState]] = {
    _S.READY: frozenset({_S.QUEUED, _S.COMPLETED}),
    _S.QUEUED: frozenset({_S.RUNNING, _S.CANCELLED, _S.FAILED, _S.READY, _S.STALE}),
    _S.RUNNING: frozenset({_S.COMPLETED, _S.FAILED, _S.CANCELLED}),
    _S.COMPLETED: frozenset({_S.QUEUED, _S.STALE, _S.READY, _S.COMPLETED}),
    _S.FAILED: frozenset({_S.QUEUED, _S.READY, _S.COMPLETED, _S.STALE}),
    _S.STALE: frozenset({_S.QUEUED, _S.READY, _S.COMPLETED, _S.STALE}),
    _S.CANCELLED: frozenset({_S.QUEUED, _S.READY, _S.COMPLETED, _S.STALE}),
}

ACTIVE_STATES = frozenset({_S.QUEUED, _S.RUNNING})
"""States in which a node is owned by a run and may not be edited, cleared or deleted."""


def check_transition(current: NodeState, target: NodeState, node_label: str) -> None:
    """Raise ConflictError unless ``current`` -> ``target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise ConflictError(
            f"node {node_label} is {current.value}; it cannot become {target.value}"
            + (" (it never ran, so it has no outputs)" if current is _S.READY else "")
        )


def becomes_stale_on_input_change(state: NodeState) -> bool:
    """True when a change of inputs makes a node in ``state`` stale (it has outputs to outdate)."""
    return state in {_S.COMPLETED, _S.STALE}
