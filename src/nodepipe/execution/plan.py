"""The run planner, a pure function (like DVC's ``plan_repro``): what to run, in which order, why.

Given a pipeline graph, each node's stored state and stale reasons (computed by the caller from
fingerprints), a selection and ``force``, ``plan_run`` returns the nodes to run in dependency
order with a reason for each, plus the selected nodes it will not run and why: up to date,
read-only here, busy in another run, or blocked because a parent has no outputs to read.

Rules: a node runs when it never ran, failed, was cancelled or is stale, or when a parent will
run; ``force`` runs the whole selection. References and locked nodes never run from here. A
node with a ``problem`` (it cannot be checked: a missing folder, an unreadable file) is planned
so that its run fails and says why; a node whose parent has one and is not planned is blocked.
The
``Plan`` also answers what the scheduler asks: which nodes may start once others are done, and
which planned nodes lie downstream of one that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from operator import attrgetter
from typing import Final, NamedTuple

from nodepipe.domain.errors import NotFoundError
from nodepipe.domain.graph import ancestors, descendants, topological_order
from nodepipe.domain.model import Edge, PipelineNode
from nodepipe.domain.states import ACTIVE_STATES, NodeState

FORCED = "forced"
UP_TO_DATE = "up to date"
REFERENCE = "reference: not run from this pipeline"
LOCKED = "locked: unlock it to run it"
ANOTHER_RUN = "another run"
"""How a reason names the run holding a queued or running node when the planner is not told."""
HAS_OUTPUTS = frozenset({NodeState.COMPLETED, NodeState.STALE})


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What the planner knows of one node: its state, why it is stale, and its role here."""

    node_id: str
    tag: str
    state: NodeState
    stale_reasons: tuple[str, ...] = ()
    reference: bool = False
    locked: bool = False
    problem: str | None = None
    """Why the node cannot be checked nor run, if it cannot (also among ``stale_reasons``)."""

    @classmethod
    def of(cls, item: PipelineNode, stale_reasons: Sequence[str] = ()) -> NodeStatus:
        node = item.node
        return cls(
            node.id, node.tag, node.state, tuple(stale_reasons), item.is_reference, node.locked
        )


class Selection:
    """Which nodes a run considers; every filter given narrows it (``--from a --to b``).

    This and the plan's classes below are plain classes: nothing compares or prints them, and
    a dataclass costs a run's start about 0.6 ms to make (its generated methods are compiled
    when the module is imported)."""

    __slots__ = ("from_", "only", "to")

    def __init__(
        self,
        only: frozenset[str] | None = None,
        from_: frozenset[str] | None = None,
        to: frozenset[str] | None = None,
    ) -> None:
        self.only: Final = only
        self.from_: Final = from_
        self.to: Final = to

    def resolve(self, node_ids: AbstractSet[str], edges: Sequence[Edge]) -> set[str]:
        """The selected node ids; NotFoundError for an id that is not in ``node_ids``."""
        for given in (self.only, self.from_, self.to):
            unknown = sorted((given or set()) - node_ids)
            if unknown:
                raise NotFoundError(f"not in this pipeline: {', '.join(unknown)}")
        selected = set(node_ids)
        if self.only is not None:
            selected &= self.only
        if self.from_ is not None:
            selected &= self.from_ | descendants(self.from_, edges)
        if self.to is not None:
            selected &= self.to | ancestors(self.to, edges)
        return selected


class PlannedNode:
    """A node the plan runs, and why (its own reasons, or a parent's)."""

    __slots__ = ("node_id", "reasons")

    def __init__(self, node_id: str, reasons: tuple[str, ...]) -> None:
        self.node_id: Final = node_id
        self.reasons: Final = reasons


class SkippedNode:
    """A selected node the plan does not run, and why."""

    __slots__ = ("node_id", "reason")

    def __init__(self, node_id: str, reason: str) -> None:
        self.node_id: Final = node_id
        self.reason: Final = reason


class BlockedNode:
    """A node that should run but cannot: ``reasons`` name each parent in the way."""

    __slots__ = ("node_id", "reasons")

    def __init__(self, node_id: str, reasons: tuple[str, ...]) -> None:
        self.node_id: Final = node_id
        self.reasons: Final = reasons


class Plan:
    """The nodes to run in dependency order, and the selected ones left out, with reasons."""

    __slots__ = ("blocked", "nodes", "parents", "skipped")

    def __init__(
        self,
        nodes: tuple[PlannedNode, ...],
        skipped: tuple[SkippedNode, ...] = (),
        blocked: tuple[BlockedNode, ...] = (),
        parents: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self.nodes: Final = nodes
        self.skipped: Final = skipped
        self.blocked: Final = blocked
        self.parents: Final[dict[str, frozenset[str]]] = {} if parents is None else parents
        """Each planned node's parents that are planned too: what it waits for."""

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(item.node_id for item in self.nodes)

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def ready_after(
        self, done: AbstractSet[str], started: AbstractSet[str] = frozenset()
    ) -> list[str]:
        """Planned nodes not started nor done whose planned parents are all done, in plan order."""
        return [
            node_id
            for node_id in self.ids
            if node_id not in done
            and node_id not in started
            and self.parents.get(node_id, frozenset()) <= done
        ]

    def waves(self) -> list[list[str]]:
        """The plan as successive waves; each wave's nodes may run in parallel."""
        done: set[str] = set()
        result: list[list[str]] = []
        while wave := self.ready_after(done):
            result.append(wave)
            done.update(wave)
        return result

    def downstream(self, node_id: str) -> list[str]:
        """Planned nodes that depend on ``node_id``, directly or not, in plan order."""
        below = {node_id}
        for candidate in self.ids:
            if self.parents.get(candidate, frozenset()) & below:
                below.add(candidate)
        return [candidate for candidate in self.ids if candidate in below - {node_id}]


class _Input(NamedTuple):
    """An input ``slot`` of a node and the parent feeding it."""

    slot: str
    parent: NodeStatus


def plan_run(
    nodes: Iterable[NodeStatus],
    edges: Iterable[Edge],
    selection: Selection | None = None,
    force: bool = False,
    order: Sequence[str] | None = None,
    holders: Mapping[str, str] | None = None,
) -> Plan:
    """Plan a run of the pipeline made of ``nodes`` and ``edges`` (see the module docstring).

    Edges whose child is not among ``nodes`` are ignored; every parent of a node must be there.
    ``order``: the ids of ``nodes`` as ``topological_order`` gives them for these edges, when
    the caller has it already (a status computed it: 10,000 nodes are not ordered twice).
    ``holders``: the run each queued or running node belongs to, as the reasons name it
    (``run 6rbt6dsh of 'etl' (ana, pid 4242 on lab1)``; "another run" for a node not in it).
    """
    statuses = {status.node_id: status for status in nodes}
    graph_edges = _edges_within(statuses, edges)
    inputs = _inputs(statuses, graph_edges)
    selected = (selection or Selection()).resolve(statuses.keys(), graph_edges)
    outcomes: dict[str, PlannedNode | SkippedNode | BlockedNode] = {}
    if order is None or len(order) != len(statuses):
        order = topological_order(statuses, graph_edges)
    for node_id in order:
        if node_id in selected:
            outcomes[node_id] = _decide(
                statuses[node_id], inputs[node_id], outcomes, force, holders or {}
            )
    planned = [item for item in outcomes.values() if isinstance(item, PlannedNode)]
    planned_ids = {item.node_id for item in planned}
    return Plan(
        nodes=tuple(planned),
        skipped=tuple(item for item in outcomes.values() if isinstance(item, SkippedNode)),
        blocked=tuple(item for item in outcomes.values() if isinstance(item, BlockedNode)),
        parents={
            node_id: frozenset(i.parent.node_id for i in inputs[node_id]) & planned_ids
            for node_id in planned_ids
        },
    )


def _edges_within(statuses: Mapping[str, NodeStatus], edges: Iterable[Edge]) -> list[Edge]:
    kept = [edge for edge in edges if edge.child_id in statuses]
    missing = sorted({edge.parent_id for edge in kept if edge.parent_id not in statuses})
    if missing:
        raise ValueError(f"parents missing from the graph given to the planner: {missing}")
    return kept


def _inputs(statuses: Mapping[str, NodeStatus], edges: Iterable[Edge]) -> dict[str, list[_Input]]:
    """Each node's inputs by slot (the edges sorted once, stably: not 10,000 sorts)."""
    result: dict[str, list[_Input]] = {node_id: [] for node_id in statuses}
    for edge in sorted(edges, key=attrgetter("slot")):
        result[edge.child_id].append(_Input(edge.slot, statuses[edge.parent_id]))
    return result


def _decide(
    status: NodeStatus,
    inputs: list[_Input],
    outcomes: Mapping[str, PlannedNode | SkippedNode | BlockedNode],
    force: bool,
    holders: Mapping[str, str],
) -> PlannedNode | SkippedNode | BlockedNode:
    read_only = _read_only_reason(status)
    if read_only:
        return SkippedNode(status.node_id, read_only)
    if status.state in ACTIVE_STATES:
        holder = holders.get(status.node_id, ANOTHER_RUN)
        return SkippedNode(status.node_id, f"{status.state.value} in {holder}")
    reasons = _unique([*_own_reasons(status), *_upstream_reasons(inputs, outcomes)])
    if not reasons and force:
        reasons = [FORCED]
    if not reasons:
        return SkippedNode(status.node_id, UP_TO_DATE)
    blockers = [_blocker(item, outcomes, holders) for item in inputs]
    found = tuple(blocker for blocker in blockers if blocker)
    if found:
        return BlockedNode(status.node_id, found)
    return PlannedNode(status.node_id, tuple(reasons))


def _read_only_reason(status: NodeStatus) -> str | None:
    if not (status.reference or status.locked):
        return None
    reason = REFERENCE if status.reference else LOCKED
    if status.state is not NodeState.COMPLETED:
        reason += f" (it is {status.state.value})"
    return reason


def _own_reasons(status: NodeStatus) -> list[str]:
    state = status.state
    if state is NodeState.READY:
        return ["never ran", *status.stale_reasons]
    if state is NodeState.FAILED:
        return ["failed last time", *status.stale_reasons]
    if state is NodeState.CANCELLED:
        return ["cancelled last time", *status.stale_reasons]
    if state is NodeState.STALE:
        return list(status.stale_reasons) or ["stale"]
    return list(status.stale_reasons)


def _upstream_reasons(inputs: list[_Input], outcomes: Mapping[str, object]) -> list[str]:
    reasons = []
    for item in inputs:
        if isinstance(outcomes.get(item.parent.node_id), PlannedNode):
            verb = "will run" if item.parent.state is NodeState.READY else "will re-run"
            reasons.append(f"parent {item.slot} ({item.parent.tag}) {verb}")
    return reasons


def _blocker(
    item: _Input, outcomes: Mapping[str, object], holders: Mapping[str, str]
) -> str | None:
    """Why the parent on this input keeps the child from running, or None if it does not."""
    parent, outcome = item.parent, outcomes.get(item.parent.node_id)
    label = f"parent {item.slot} ({parent.tag})"
    if isinstance(outcome, PlannedNode):
        return None
    if parent.problem is not None:
        return f"{label} cannot run: {parent.problem}"
    if parent.state in HAS_OUTPUTS:
        return None
    if isinstance(outcome, BlockedNode):
        return f"{label} is blocked"
    if parent.state in ACTIVE_STATES:
        holder = holders.get(parent.node_id, ANOTHER_RUN)
        return f"{label} is {parent.state.value} in {holder}; run this again when it is done"
    if parent.reference or parent.locked:
        where = "run it from its own pipeline" if parent.reference else "unlock and run it"
        return f"{label} has no outputs and is read-only here; {where} first"
    if parent.state is NodeState.READY:
        return f"{label} has no outputs; include it or run it first"
    return f"{label} {_past(parent.state)} last time; include it or run it first"


def _past(state: NodeState) -> str:
    return "was cancelled" if state is NodeState.CANCELLED else str(state.value)


def _unique(reasons: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(reasons))
