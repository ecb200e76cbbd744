"""A run's claim on its nodes: the run row, a queued node run per planned node, and how each
node was before (so that a run that never starts gives them back as they were)."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Node, Pipeline
from nodepipe.domain.runs import NodeRun, NodeRunState, Run, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.execution.plan import Plan
from nodepipe.execution.recovery import this_process
from nodepipe.store.store import Store

if TYPE_CHECKING:
    from nodepipe.store.light_write import RunWrites


class Claim:
    """A run and its node runs written in one transaction, and the states they replaced.

    A plain class: nothing compares or prints it, and a dataclass costs a run's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("node_run_ids", "previous", "run")

    def __init__(
        self,
        run: Run,
        node_run_ids: dict[str, str],
        previous: dict[str, tuple[NodeState, str]],
    ) -> None:
        self.run: Final = run
        self.node_run_ids: Final = node_run_ids
        """Node id -> the id of its node run in this run."""
        self.previous: Final = previous
        """Node id -> (state, reason) before the claim."""


def claim_planned(
    session: RunWrites,
    pipeline: Pipeline,
    plan: Plan,
    nodes: Mapping[str, Node],
    *,
    executor: str,
    jobs: int,
    force: bool,
) -> Claim:
    """Record the run and queue its planned nodes, within the caller's write transaction.

    ``nodes`` are the planned nodes as read in that transaction: their states are kept to give
    back should the run never start."""
    pid, host, started = this_process()
    now = datetime.now(UTC)
    run = Run(
        new_id(),
        pipeline.id,
        pipeline.tag,
        getpass.getuser(),
        executor,
        RunStatus.RUNNING,
        jobs,
        force,
        now,
        None,
        pid,
        host,
        started,
    )
    session.insert_run(run)
    previous = {i: (nodes[i].state, nodes[i].state_reason) for i in plan.ids}
    node_runs = [_queued(run, planned.node_id, planned.reasons, now) for planned in plan.nodes]
    session.insert_node_runs(node_runs, previous)
    session.set_states(dict.fromkeys(plan.ids, ""), NodeState.QUEUED)
    return Claim(run, {nr.node_id: nr.id for nr in node_runs}, previous)


def abandon(store: Store, claim: Claim, reason: str, *, cancelled: bool = False) -> None:
    """Settle a claimed run that never started, failed (or ``cancelled``: its node runs
    skipped, as those a cancel reaches before they start): its nodes go back to how they
    were, each node run says ``reason``."""
    now = datetime.now(UTC)
    node_run_state = NodeRunState.SKIPPED if cancelled else NodeRunState.FAILED
    with store.write() as session:
        for node_id, node_run_id in claim.node_run_ids.items():
            session.update_node_run(
                node_run_id, state=node_run_state, message=reason, finished_at=now
            )
            state, state_reason = claim.previous[node_id]
            session.update_node(node_id, state=state, state_reason=state_reason)
        status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
        session.update_run(claim.run.id, status=status, finished_at=now)


def cancels(error: BaseException) -> bool:
    """Whether ``error``, raised while a run's executor started, means the run was stopped
    (Ctrl-C; a signal Ray's handler turned into ``SystemExit``) rather than that it failed."""
    return isinstance(error, KeyboardInterrupt | SystemExit)


def why_not_started(executor: str, error: BaseException, *, executor_started: bool = False) -> str:
    """Why the node runs of a run that never started never ran: its ``executor`` did not start
    or (``executor_started``) what came after failed; the error's words, or its type where it
    has none; never an empty reason."""
    if isinstance(error, KeyboardInterrupt):
        if executor_started:
            return "cancelled before it started: Ctrl-C"
        return f"cancelled before it started: Ctrl-C while the {executor} executor was starting"
    if isinstance(error, SystemExit):
        while_ = "" if executor_started else f" while the {executor} executor was starting"
        return f"cancelled before it started: the process was told to end{while_}"
    words = str(error) or type(error).__name__
    if executor_started:
        return f"nodepipe failed before the run started: {words}"
    return f"the {executor} executor did not start: {words}"


def _queued(run: Run, node_id: str, reasons: tuple[str, ...], now: datetime) -> NodeRun:
    return NodeRun(
        id=new_id(),
        run_id=run.id,
        node_id=node_id,
        state=NodeRunState.QUEUED,
        reasons=reasons,
        message="",
        created_at=now,
        started_at=None,
        finished_at=None,
        exit_code=None,
        pid=None,
        host="",
        fingerprint=None,
        output_digest=None,
        log_file="",
        cancel_requested=False,
    )
