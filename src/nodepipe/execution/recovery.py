"""Crash recovery: runs whose nodepipe process died are marked interrupted, orphans killed.

A run records the pid, host and start time of the process that orchestrates it. When that
process is gone (on this host), its queued and running node runs fail as interrupted, any node
process group still alive is killed, and interrupted output swaps are repaired.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, NodeRun, NodeRunState, Run, RunStatus
from nodepipe.domain.states import ACTIVE_STATES, NodeState
from nodepipe.store.store import Store
from nodepipe.workspace.layout import WorkspaceLayout
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.output_swap import repair

INTERRUPTED = "interrupted: the nodepipe process running it stopped"


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def this_process() -> tuple[int, str, str]:
    """(pid, host, start time) identifying the current process across pid reuse."""
    pid = os.getpid()
    return pid, socket.gethostname(), process_start_time(pid) or ""


def orchestrator_alive(run: Run) -> bool:
    if run.orchestrator_host != socket.gethostname():
        return True  # cannot tell from here; the host that runs it will recover it
    return process_start_time(run.orchestrator_pid) == run.orchestrator_started


def _belongs_to(pid: int, node_run: NodeRun) -> bool:
    """True when process ``pid`` is this node run's (not an unrelated reuse of the pid)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"NODEPIPE_RUN_ID={node_run.run_id}".encode() in environ


def kill_orphan(node_run: NodeRun) -> None:
    if node_run.pid is None or node_run.host != socket.gethostname():
        return
    if _belongs_to(node_run.pid, node_run):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(node_run.pid, signal.SIGKILL)


def recover_interrupted(store: Store, layout: WorkspaceLayout) -> list[NodeRun]:
    """Settle every run whose orchestrator died; returns the node runs marked interrupted."""
    with store.read() as session:
        dead = [
            run
            for run in session.runs_with_status(RunStatus.RUNNING)
            if not orchestrator_alive(run)
        ]
    interrupted: list[NodeRun] = []
    for run in dead:
        with store.write() as session:
            current = session.get_run(run.id)
            if current is None or current.status is not RunStatus.RUNNING:
                continue
            for node_run in session.node_runs_of_run(run.id):
                if node_run.state not in ACTIVE_NODE_RUN_STATES:
                    continue
                kill_orphan(node_run)
                session.update_node_run(
                    node_run.id,
                    state=NodeRunState.FAILED,
                    message=INTERRUPTED,
                    finished_at=datetime.now(UTC),
                )
                node = session.get_node(node_run.node_id)
                if node is not None and node.state in ACTIVE_STATES:
                    session.update_node(node.id, state=NodeState.FAILED, state_reason=INTERRUPTED)
                repair(NodeFolder(layout.node_dir(node_run.node_id)))
                interrupted.append(node_run)
            session.update_run(run.id, status=RunStatus.INTERRUPTED, finished_at=datetime.now(UTC))
    return interrupted
