"""Crash recovery: runs whose nodepipe process died are marked interrupted, orphans killed.

A run records the pid, place and start time of the process that orchestrates it; the place
names the host, and its machine, boot and PID namespace (``this_process``). When that
process is gone (on this host), any node process group still alive is killed, output swaps it
left are rolled forward or back (``workspace.output_swap``), and its queued and running node
runs fail as interrupted. Only a process of the same machine, boot and PID namespace can tell:
a command in a container sharing the workspace and the host's name (``--network host``), or
on another machine of that name, sees other processes under those pids, and leaves the run
alone; a run of an earlier boot of this machine is dead whatever its pid names now.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, NodeRun, NodeRunState, Run, RunStatus
from nodepipe.domain.states import ACTIVE_STATES, NodeState
from nodepipe.store.store import Store
from nodepipe.workspace.layout import WorkspaceLayout

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession
    from nodepipe.workspace.output_swap import Promotion

INTERRUPTED = "interrupted: the nodepipe process running it stopped"
ROLLED_FORWARD = "completed (recorded after the nodepipe process running it stopped)"
NEVER_STARTED = "not started: the nodepipe process running the run stopped first"


SIGKILL_BIT = 1 << (signal.SIGKILL - 1)
"""SIGKILL's bit in the pending-signal masks of ``/proc/PID/status``."""


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if it is gone.

    A process that will never run again counts as gone: a zombie (dead, not yet reaped by its
    parent) or one with SIGKILL pending (killed, not yet scheduled to die). A served command's
    worker is both for a moment after its client was killed (the fork server kills it and
    reaps it later): the next command must settle its run, not take it for a live one.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X") or _sigkill_pending(pid):
            return None
    except OSError:
        return None
    return fields[19]


def _sigkill_pending(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & SIGKILL_BIT:
            return True
    return False


def this_host() -> str:
    """This machine's host name (what ``socket.gethostname`` returns, without importing
    ``socket`` into every command that checks for dead runs)."""
    return os.uname().nodename


def this_process() -> tuple[int, str, str]:
    """(pid, place, start time) identifying the current process across pid reuse: the place
    is ``host/space``, the host's name and where on it the pid lives (``pid_space``)."""
    pid = os.getpid()
    return pid, f"{this_host()}/{pid_space()}", process_start_time(pid) or ""


@functools.cache
def pid_space() -> str:
    """This machine (its machine id; ``-`` when it has none), its boot and this process's
    PID namespace, 8 hex characters each: a pid recorded under other ones names another
    process here, or none. Empty when the boot or namespace cannot be read."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino  # noqa: PTH116
    except OSError:
        return ""
    machine = "-"
    for where in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            machine = Path(where).read_text().strip() or "-"
            break
    return "".join(_short(part) for part in (machine, boot, str(namespace)))


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_PART]


_PART = 8


@functools.cache
def booted_at() -> float | None:
    """When this machine last started (seconds since the epoch), from ``/proc/stat``."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def judged_alive(
    pid: int, place: str, started: str, recorded_at: float | None = None
) -> bool | None:
    """Whether the process recorded as ``pid`` at ``place`` (``this_process``), started at
    ``started``, still runs: None when this process cannot tell (another machine, another
    PID namespace of this one: its own will), False when it was recorded (``recorded_at``)
    before this machine last started. A place without a space is from an older nodepipe:
    its host name alone is compared."""
    host, _, space = place.partition("/")
    if host != this_host():
        return None
    mine = pid_space()
    if space and space != mine:
        same_machine = bool(mine) and space[:_PART] == mine[:_PART]
        if same_machine and space[_PART : 2 * _PART] != mine[_PART : 2 * _PART]:
            booted = booted_at()
            if recorded_at is not None and booted is not None and recorded_at < booted:
                return False  # this machine before it last started: nothing of then runs
        return None  # another machine of the same name, or another PID namespace
    return process_start_time(pid) == started.partition("/")[0]


def orchestrator_alive(run: Run) -> bool:
    """Whether the process orchestrating ``run`` may still run (True when this one cannot
    tell: the host or namespace that runs it will recover it)."""
    found = judged_alive(
        run.orchestrator_pid,
        run.orchestrator_host,
        run.orchestrator_started,
        run.created_at.timestamp(),
    )
    return found is not False


def orchestrated_here(run: Run) -> bool:
    """Whether ``run``'s orchestrator is a live process this one can signal."""
    found = judged_alive(run.orchestrator_pid, run.orchestrator_host, run.orchestrator_started)
    return found is True


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for signal ``signum`` (``/proc``): one that has
    none would be ended by a signal meant to be heard, such as ``nodepipe kill``'s."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    except (OSError, ValueError, IndexError):
        pass
    return False


def host_name(place: str) -> str:
    """The host's name of a recorded place (``this_process``)."""
    return place.partition("/")[0]


def processes_of_run(run_id: str) -> list[int]:
    """Pids of live processes started for run ``run_id`` (found by their environment).

    Node processes carry ``NODEPIPE_RUN_ID`` and so do their children, so this finds a node's
    whole process tree even when its group leader is already gone.
    """
    marker = f"NODEPIPE_RUN_ID={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_orphans(run: Run) -> None:
    """SIGKILL every process (and its group) left running by a dead run on this host."""
    if orchestrator_alive(run):  # another host's or namespace's, or not dead after all
        return
    own_group = os.getpgid(0)
    for pid in processes_of_run(run.id):
        if pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)


def recover_interrupted(store: Store, layout: WorkspaceLayout) -> list[NodeRun]:
    """Settle every run whose orchestrator died; returns the node runs marked interrupted.

    Orphan processes are killed first, so nothing writes while the files are looked at.
    """
    with store.light_read() as session:
        dead = [r for r in session.runs_with_status(RunStatus.RUNNING) if not orchestrator_alive(r)]
    interrupted: list[NodeRun] = []
    for run in dead:
        kill_orphans(run)
        interrupted += settle_run(store, layout, run.id, RunStatus.INTERRUPTED, INTERRUPTED)
    return interrupted


def settle_run(
    store: Store, layout: WorkspaceLayout, run_id: str, status: RunStatus, reason: str
) -> list[NodeRun]:
    """End a run that was not recorded to its end (its orchestrator died, or the store failed
    under it), once no process of it runs any more; returns the node runs failed with
    ``reason``.

    A node run whose outputs were swapped in completed: the store is brought up to date from
    the promotion's intent (rolled forward). A node run never handed to an executor is skipped
    and its node given back the state it had before the claim (``NEVER_STARTED``). Any other is
    undone on disk (the previous outputs back in data/) before the store marks it failed. The
    old outputs of a rolled-forward promotion go only after the store has recorded it.
    """
    from nodepipe.workspace.output_swap import finish_promotion  # a dead run's only

    with store.read() as session:
        node_runs = session.node_runs_of_run(run_id)
        recorded = session.node_fingerprints({nr.node_id for nr in node_runs})
        previous = session.previous_states(run_id)
    swapped = _settle_files(layout, node_runs, {k: v[1] for k, v in recorded.items()})
    failed: list[NodeRun] = []
    with store.write() as session:
        current = session.get_run(run_id)
        if current is None or current.status is not RunStatus.RUNNING:
            return failed
        for node_run in session.node_runs_of_run(run_id):
            if node_run.id in swapped:
                _roll_forward(session, node_run, swapped[node_run.id])
            elif node_run.id in previous and _never_prepared(layout, node_run):
                _give_back(session, node_run, previous[node_run.id])
            elif node_run.state in ACTIVE_NODE_RUN_STATES:
                _mark_failed(session, node_run, reason)
                failed.append(node_run)
        session.update_run(run_id, status=status, finished_at=_now())
    for node_run in node_runs:
        finish_promotion(layout.node_folder(node_run.node_id), node_run.id)
    return failed


def _settle_files(
    layout: WorkspaceLayout, node_runs: list[NodeRun], recorded: dict[str, str | None]
) -> dict[str, Promotion]:
    """The promotions that happened, by node run id; every other node run undone on disk, its
    node's data/ back to the outputs the store records (``recorded``: digest by node)."""
    from nodepipe.workspace.output_swap import promoted, undo

    swapped: dict[str, Promotion] = {}
    for node_run in node_runs:
        folder = layout.node_folder(node_run.node_id)
        if node_run.state is NodeRunState.COMPLETED:
            continue  # recorded: only its tidying may be left (finished below)
        promotion = promoted(folder, node_run.id)
        if promotion is not None:
            swapped[node_run.id] = promotion
        else:
            undo(folder, node_run.id, recorded.get(node_run.node_id))
    return swapped


def _roll_forward(session: StoreSession, node_run: NodeRun, promotion: Promotion) -> None:
    if node_run.state is not NodeRunState.COMPLETED:
        session.update_node_run(
            node_run.id,
            state=NodeRunState.COMPLETED,
            exit_code=0,
            message=ROLLED_FORWARD,
            output_digest=promotion.output_digest,
            fingerprint=promotion.fingerprint or node_run.fingerprint,
            finished_at=_now(),
        )
    session.update_node(
        node_run.node_id,
        state=NodeState.COMPLETED,
        state_reason="",
        fingerprint=promotion.fingerprint or node_run.fingerprint,
        output_digest=promotion.output_digest,
    )


def _never_prepared(layout: WorkspaceLayout, node_run: NodeRun) -> bool:
    """Whether the node run was never handed to an executor: queued, and no log of it (its
    log is opened before its process could start, and before a shipped node goes to a Ray
    worker: ``remote_task.open_log``), so it certainly did not run."""
    if node_run.state is not NodeRunState.QUEUED:
        return False
    log = layout.node_folder(node_run.node_id).logs / f"{node_run.id}.log"
    return not os.path.lexists(log)


def _give_back(session: StoreSession, node_run: NodeRun, previous: tuple[NodeState, str]) -> None:
    """A node the dead run never started: its node run skipped, the node as it was before the
    claim (as a cancelled run gives its nodes back); outputs it never touched."""
    session.update_node_run(
        node_run.id, state=NodeRunState.SKIPPED, message=NEVER_STARTED, finished_at=_now()
    )
    node = session.get_node(node_run.node_id)
    if node is not None and node.state in ACTIVE_STATES:
        state, reason = previous
        session.update_node(node.id, state=state, state_reason=reason)


def _mark_failed(session: StoreSession, node_run: NodeRun, reason: str) -> None:
    session.update_node_run(
        node_run.id, state=NodeRunState.FAILED, message=reason, finished_at=_now()
    )
    node = session.get_node(node_run.node_id)
    if node is not None and node.state in ACTIVE_STATES:
        session.update_node(node.id, state=NodeState.FAILED, state_reason=reason)


def _now() -> datetime:
    return datetime.now(UTC)
