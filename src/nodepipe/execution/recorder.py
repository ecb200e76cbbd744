"""The store listens to a run: node states, node-run rows and fingerprints follow its events."""

from __future__ import annotations

from datetime import UTC, datetime

from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.execution.events import (
    NodeFinished,
    NodeSkipped,
    NodeStarted,
    NodeSubmitted,
    RunEvent,
    RunFinished,
)
from nodepipe.store.queries import StoreSession
from nodepipe.store.store import Store

_NODE_STATE = {
    "completed": NodeState.COMPLETED,
    "failed": NodeState.FAILED,
    "timeout": NodeState.FAILED,
    "error": NodeState.FAILED,
    "cancelled": NodeState.CANCELLED,
}
_NODE_RUN_STATE = {
    "completed": NodeRunState.COMPLETED,
    "cancelled": NodeRunState.CANCELLED,
}


class StoreRecorder:
    """Writes each event in its own short transaction, so other processes see progress live."""

    def __init__(self, store: Store, previous_states: dict[str, tuple[NodeState, str]]) -> None:
        self.store = store
        self.previous_states = previous_states
        self._fingerprints: dict[str, str] = {}

    def __call__(self, event: RunEvent) -> None:
        now = datetime.now(UTC)
        with self.store.write() as session:
            if isinstance(event, NodeSubmitted):
                self._fingerprints[event.node_id] = event.fingerprint
                session.update_node_run(
                    event.node_run_id, fingerprint=event.fingerprint, log_file=event.log_file
                )
            elif isinstance(event, NodeStarted):
                session.update_node_run(
                    event.node_run_id,
                    state=NodeRunState.RUNNING,
                    started_at=now,
                    pid=event.pid,
                    host=event.host,
                )
                session.update_node(event.node_id, state=NodeState.RUNNING, state_reason="")
            elif isinstance(event, NodeFinished):
                self._finished(session, event, now)
            elif isinstance(event, NodeSkipped):
                state, reason = self.previous_states.get(event.node_id, (NodeState.READY, ""))
                session.update_node_run(
                    event.node_run_id,
                    state=NodeRunState.SKIPPED,
                    message=event.reason,
                    finished_at=now,
                )
                session.update_node(event.node_id, state=state, state_reason=reason)
            elif isinstance(event, RunFinished):
                session.update_run(event.run_id, status=RunStatus(event.status), finished_at=now)

    def _finished(self, session: StoreSession, event: NodeFinished, now: datetime) -> None:
        outcome = event.outcome
        session.update_node_run(
            event.node_run_id,
            state=_NODE_RUN_STATE.get(outcome.status, NodeRunState.FAILED),
            exit_code=outcome.exit_code,
            message=outcome.message,
            output_digest=outcome.output_digest,
            started_at=outcome.started_at,
            finished_at=now,
        )
        completed = outcome.status == "completed"
        reason = "" if completed else _reason(outcome.status, outcome.message)
        session.update_node(event.node_id, state=_NODE_STATE[outcome.status], state_reason=reason)
        if completed:
            session.set_node_fingerprint(
                event.node_id, self._fingerprints.get(event.node_id), outcome.output_digest
            )


def _reason(status: str, message: str) -> str:
    if status == "error":
        return f"nodepipe could not run it: {message}"
    return message
