"""Runs as real processes: kill ends the process group, a dead orchestrator leaves no node
running after the next command, and two runs at once never run a node twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from nodepipe import NodeState
from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.execution.recovery import booted_at, pid_space, process_start_time, this_host
from nodepipe.execution.task import NodeTask
from nodepipe.services.runs.service import RunRequest, RunResult
from nodepipe.store.schema import node_runs, runs
from nodepipe.store.store import Store
from support.waiting import wait_for
from support.worlds import NodeSpec, build_pipeline

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")

SLEEPER = """\
import os, subprocess, sys, time, pathlib
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"], "pids").write_text(f"{os.getpid()} {child.pid}")
time.sleep(600)
"""
QUICK = "import nodepipe_node as n\n(n.data_dir() / 'out.txt').write_text('good')\n"


def pids_in(path: Path) -> list[int]:
    """The process ids a sleeper node writes into ``path`` once it runs."""
    text = wait_for(lambda: path.exists() and path.read_text().strip(), f"{path} to be written")
    return [int(pid) for pid in text.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # reaped between the two looks
        return False
    return "State:\tZ" not in status


def gone(pid: int) -> bool:
    """Wait for process ``pid`` to end (fails the test if it still runs after 15 s)."""
    return wait_for(lambda: not alive(pid), f"process {pid} to end", 15)


@pytest.fixture
def sleeping_load(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    """The chain ran once with good outputs; now load's code sleeps (with a child process)."""
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(QUICK)
    chain.runs.run(RunRequest("baseline"))
    (chain.nodes.path("load") / "code" / "main.py").write_text(SLEEPER)
    return chain


def pids_of(ws: nodepipe.Workspace) -> list[int]:
    return pids_in(ws.nodes.path("load") / "reports" / "pids")


def test_kill_ends_the_process_group_and_keeps_outputs(sleeping_load: nodepipe.Workspace) -> None:
    ws = sleeping_load
    results: list[RunResult] = []
    worker = threading.Thread(target=lambda: results.append(ws.runs.run(RunRequest("baseline"))))
    worker.start()
    pids = pids_of(ws)
    assert all(alive(pid) for pid in pids)
    killed = ws.runs.kill(["load"])
    assert [nr.node_id for nr in killed] == [ws.nodes.get("load").id]
    worker.join(60)
    assert all(gone(pid) for pid in pids)
    (result,) = results
    assert result.finished is not None and result.finished.status == "cancelled"
    assert ws.nodes.get("load").state is NodeState.CANCELLED
    states = {nr.node_id: nr.state for nr in ws.runs.node_runs(result.run_id or "")}
    assert states[ws.nodes.get("clean").id] is NodeRunState.SKIPPED
    assert (ws.nodes.path("load") / "data" / "out.txt").read_text() == "good"


def test_kill_from_another_process(sleeping_load: nodepipe.Workspace) -> None:
    ws = sleeping_load
    orchestrator = subprocess.Popen(
        [NODEPIPE, "run", "baseline"],
        cwd=ws.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids = pids_of(ws)
    killer = subprocess.run(
        [NODEPIPE, "kill", "load"], cwd=ws.root, capture_output=True, text=True, check=False
    )
    assert killer.returncode == 0, killer.stderr
    out, err = orchestrator.communicate(timeout=60)
    assert orchestrator.returncode == 130, out + err
    assert "load cancelled" in out
    assert all(gone(pid) for pid in pids)
    assert ws.nodes.get("load").state is NodeState.CANCELLED


def test_killed_orchestrator_leaves_nothing_running(sleeping_load: nodepipe.Workspace) -> None:
    ws = sleeping_load
    orchestrator = subprocess.Popen(
        [NODEPIPE, "run", "baseline"],
        cwd=ws.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids = pids_of(ws)

    def recorded() -> bool:  # the store hears of a start within a recorder batch
        return ws.nodes.get("load").state is NodeState.RUNNING

    wait_for(recorded, "the store to record load running", 10)
    orchestrator.send_signal(signal.SIGKILL)
    orchestrator.wait(30)
    assert all(alive(pid) for pid in pids)  # the orphans are still there
    assert ws.nodes.get("load").state is NodeState.RUNNING
    status = subprocess.run(
        [NODEPIPE, "status", "baseline", "--json"],
        cwd=ws.root,
        capture_output=True,
        text=True,
        check=True,
    )
    states = {row["tag"]: row for row in json.loads(status.stdout)["nodes"]}
    assert states["load"]["state"] == "failed"
    assert "interrupted" in states["load"]["reasons"][0]
    assert all(s["state"] not in ("running", "queued") for s in states.values())
    assert all(gone(pid) for pid in pids)
    assert (ws.nodes.path("load") / "data" / "out.txt").read_text() == "good"
    assert not any((ws.nodes.path("load") / ".staging").iterdir())
    (run,) = [r for r in ws.runs.history("baseline") if r.status.value != "completed"]
    assert run.status.value == "interrupted"


def test_a_dead_runs_nodes_that_never_started_are_given_back_as_they_were(
    sleeping_load: nodepipe.Workspace,
) -> None:
    """The orchestrator is killed while load runs: load failed (interrupted), and clean and plot,
    which the run never started, are as they were before it (stale below load; their node runs
    skipped, saying so), not failed: as a cancelled run gives back the nodes it did not start."""
    ws = sleeping_load
    before = {tag: ws.nodes.get(tag) for tag in ("clean", "plot")}
    orchestrator = subprocess.Popen(
        [NODEPIPE, "run", "baseline", "--jobs", "1"],
        cwd=ws.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids = pids_of(ws)
    wait_for(lambda: ws.nodes.get("load").state is NodeState.RUNNING, "load running", 10)
    orchestrator.send_signal(signal.SIGKILL)
    orchestrator.wait(30)
    ws.runs.recover()
    assert all(gone(pid) for pid in pids)
    assert ws.nodes.get("load").state is NodeState.FAILED
    (run,) = [r for r in ws.runs.history("baseline") if r.status is RunStatus.INTERRUPTED]
    ended = {ws.nodes.get(nr.node_id).tag: nr for nr in ws.runs.node_runs(run.id)}
    assert ended["load"].state is NodeRunState.FAILED
    for tag in ("clean", "plot"):
        assert ended[tag].state is NodeRunState.SKIPPED
        assert ended[tag].message.startswith("not started"), ended[tag].message
        now = ws.nodes.get(tag)  # stale under load, as before (load is now failed)
        assert now.state is before[tag].state is NodeState.STALE, now.state_reason
        assert "interrupted" not in now.state_reason


GATED = """\
import os, pathlib, sys, time
import nodepipe_node as node
(node.data_dir() / "part1.txt").write_text("first half")
pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"], "pids").write_text(str(os.getpid()))
gate = pathlib.Path(sys.argv[0]).with_name("gate")
while not gate.exists():
    time.sleep(0.05)
(node.data_dir() / "part2.txt").write_text("second half")
"""
RECOVER = "import sys, nodepipe; print(len(nodepipe.open(sys.argv[1]).runs.recover()))"


def test_a_command_in_another_pid_namespace_leaves_a_live_run_alone(
    chain: nodepipe.Workspace,
) -> None:
    """A command run where the orchestrator's pid names another process or none (a container
    sharing the workspace and the host's name, ``--network host``) cannot tell whether the
    run lives: it must neither settle it nor touch what its node is writing."""
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(GATED)
    results: list[RunResult] = []
    worker = threading.Thread(
        target=lambda: results.append(chain.runs.run(RunRequest("baseline", only=["load"])))
    )
    worker.start()
    try:
        pids_in(chain.nodes.path("load") / "reports" / "pids")
        wait_for(lambda: chain.nodes.get("load").state is NodeState.RUNNING, "load running", 10)
        namespaced = ["unshare", "--pid", "--fork", "--mount-proc"]
        if os.geteuid() != 0:
            namespaced[1:1] = ["--user", "--map-root-user"]
        other = subprocess.run(
            [*namespaced, sys.executable, "-c", RECOVER, str(chain.root)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip() == "0"  # nothing settled
        staged = list((chain.nodes.path("load") / ".staging").glob("*/part1.txt"))
        assert [path.read_text() for path in staged] == ["first half"]
    finally:
        (code / "gate").touch()
        worker.join(60)
    (result,) = results
    assert result.finished is not None and result.finished.status == "completed"
    data = chain.nodes.path("load") / "data"
    assert sorted(path.name for path in data.iterdir()) == ["part1.txt", "part2.txt"]


def recorded_elsewhere(
    ws: nodepipe.Workspace,
    pid: int,
    space: str,
    created: datetime | None = None,
    started: str | None = None,
) -> str:
    """A run of ``load`` that the store calls running, orchestrated by ``pid`` recorded in
    ``space`` (``recovery.pid_space``'s form) on this host (claimed at ``created``): its id."""
    (ws.nodes.path("load") / "code" / "main.py").write_text(QUICK)
    run_id = ws.runs.run(RunRequest("baseline", only=["load"], force=True)).run_id
    assert run_id is not None
    store = Store.open(f"sqlite:///{ws.root / '.nodepipe' / 'store.sqlite'}")
    try:
        with store.engine.begin() as connection:
            where = runs.c.id == run_id
            place = f"{this_host()}/{space}"
            connection.execute(
                runs.update().where(where).values(status="running", orchestrator_pid=pid)
            )
            connection.execute(runs.update().where(where).values(orchestrator_host=place))
            if created is not None:
                connection.execute(runs.update().where(where).values(created_at=created))
            if started is not None:
                connection.execute(runs.update().where(where).values(orchestrator_started=started))
            connection.execute(
                node_runs.update().where(node_runs.c.run_id == run_id).values(state="running")
            )
    finally:
        store.close()
    return run_id


def test_a_run_of_an_earlier_boot_is_settled_and_one_of_another_namespace_is_not(
    chain: nodepipe.Workspace,
) -> None:
    """A pid recorded before this machine last started names nothing of that run: the run is
    settled. One recorded in another PID namespace of this boot may live: it is left alone,
    and ``kill`` signals no process that merely has its pid here."""
    mine = pid_space()
    part = len(mine) // 3
    assert part, "this machine tells no boot or PID namespace"
    other = "0" * part if mine[part : 2 * part] != "0" * part else "1" * part
    booted = booted_at()
    assert booted is not None
    before_boot = datetime.fromtimestamp(booted - 3600, UTC)
    earlier = recorded_elsewhere(chain, os.getpid(), mine[:part] + other + mine[2 * part :])
    chain.runs.recover()  # another boot, claimed since this one began: a clone, maybe
    (run,) = [r for r in chain.runs.history("baseline") if r.id == earlier]
    assert run.status.value == "running"
    chain.runs.kill(["load"])
    earlier = recorded_elsewhere(
        chain, os.getpid(), mine[:part] + other + mine[2 * part :], before_boot
    )
    chain.runs.recover()
    (run,) = [r for r in chain.runs.history("baseline") if r.id == earlier]
    assert run.status.value == "interrupted"

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        namespace = mine[: 2 * part] + other
        other = recorded_elsewhere(chain, bystander.pid, namespace)
        chain.runs.recover()
        (run,) = [r for r in chain.runs.history("baseline") if r.id == other]
        assert run.status.value == "running"
        chain.runs.kill(["load"])
        with pytest.raises(subprocess.TimeoutExpired):  # no SIGUSR1 for a bystander
            bystander.wait(1)
    finally:
        bystander.kill()
        bystander.wait()


def test_kill_from_another_process_reaches_a_run_in_a_thread_that_hears_kills(
    chain: nodepipe.Workspace,
) -> None:
    """The web app runs pipelines in threads; its main thread hears ``nodepipe kill``
    (``kills_heard``): the killed node is cancelled. A process that does not hear kills is
    not sent the signal at all: it would end it."""
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(GATED)
    results: list[RunResult] = []
    worker = threading.Thread(
        target=lambda: results.append(chain.runs.run(RunRequest("baseline", only=["load"])))
    )
    try:
        with chain.runs.kills_heard():
            worker.start()
            pids_in(chain.nodes.path("load") / "reports" / "pids")
            killer = subprocess.run(
                [NODEPIPE, "-w", str(chain.root), "kill", "load"],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert killer.returncode == 0, killer.stderr
            worker.join(60)
            assert not worker.is_alive()
    finally:
        (code / "gate").touch()
        worker.join(60)
    (result,) = results
    assert result.finished is not None and result.finished.status == "cancelled"


def test_kill_never_signals_a_process_that_would_be_ended_by_it(
    chain: nodepipe.Workspace,
) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = wait_for(lambda: process_start_time(bystander.pid), "the process to start")
        recorded_elsewhere(chain, bystander.pid, pid_space(), started=started)
        chain.runs.kill(["load"])
        with pytest.raises(subprocess.TimeoutExpired):  # not ended by a SIGUSR1
            bystander.wait(1)
    finally:
        bystander.kill()
        bystander.wait()


def test_two_runs_at_once_never_run_a_node_twice(chain: nodepipe.Workspace) -> None:
    slow = "import time, nodepipe_node as n\ntime.sleep(1)\n(n.data_dir() / 'x').write_text('1')\n"
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(slow)
    runs = [
        subprocess.Popen(
            [NODEPIPE, "run", "baseline", "--json"],
            cwd=chain.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err
    history = chain.runs.history("baseline")
    completed: dict[str, int] = {}
    for run in history:
        for nr in chain.runs.node_runs(run.id):
            if nr.state is NodeRunState.COMPLETED:
                completed[nr.node_id] = completed.get(nr.node_id, 0) + 1
    assert sorted(completed.values()) == [1, 1, 1]
    assert all(n.state is NodeState.COMPLETED for n in chain.nodes.list("baseline"))


def test_nodes_waiting_for_a_slot_keep_their_state_when_the_run_is_killed(
    lab: nodepipe.Workspace,
) -> None:
    made = build_pipeline(lab, "wide", {tag: NodeSpec(code=QUICK) for tag in ("n1", "n2", "n3")})
    nodes = list(made.values())
    lab.runs.run(RunRequest("wide"))
    sleeper, *waiting = sorted(nodes, key=lambda n: n.id)  # handed over first (plan order)
    (lab.nodes.path(sleeper.id) / "code" / "main.py").write_text(SLEEPER)
    results: list[RunResult] = []
    request = RunRequest("wide", force=True, jobs=1)  # one slot: the others wait for it
    worker = threading.Thread(target=lambda: results.append(lab.runs.run(request)))
    worker.start()
    pids = pids_in(lab.nodes.path(sleeper.id) / "reports" / "pids")
    lab.runs.kill(pipeline="wide")
    worker.join(60)
    assert all(gone(pid) for pid in pids)
    (result,) = results
    node_runs = {nr.node_id: nr for nr in lab.runs.node_runs(result.run_id or "")}
    skipped = [n for n in waiting if node_runs[n.id].state is NodeRunState.SKIPPED]
    assert skipped, "the last node waits behind the sleeper, whatever ran before it"
    for node in waiting:  # ran before the sleeper took the slot, or never started
        assert node_runs[node.id].state in (NodeRunState.COMPLETED, NodeRunState.SKIPPED)
        assert lab.nodes.get(node.id).state is NodeState.COMPLETED  # kept if it never started
        assert (lab.nodes.path(node.id) / "data" / "out.txt").read_text() == "good"
    assert lab.nodes.get(sleeper.id).state is NodeState.CANCELLED


def test_a_node_killed_while_it_waits_behind_another_is_settled_at_once(
    lab: nodepipe.Workspace,
) -> None:
    """``--jobs 2``: two sleepers run, two more are prepared and wait for a slot; killing the
    one second in line settles it at once ("cancelled before it started"), not when a slot
    frees for the one ahead of it."""
    made = build_pipeline(lab, "wide", {tag: NodeSpec(code=QUICK) for tag in ("a", "b", "c", "d")})
    lab.runs.run(RunRequest("wide"))
    nodes = sorted(made.values(), key=lambda n: n.id)  # handed over in this order (plan order)
    for node in nodes:
        (lab.nodes.path(node.id) / "code" / "main.py").write_text(SLEEPER)
    victim = nodes[3]
    logs = lab.nodes.path(victim.id) / "logs"
    earlier = set(logs.glob("*.log"))  # the first run's log, and latest.log
    results: list[RunResult] = []
    request = RunRequest("wide", force=True, jobs=2)
    worker = threading.Thread(target=lambda: results.append(lab.runs.run(request)))
    worker.start()
    try:
        running = [pids_in(lab.nodes.path(n.id) / "reports" / "pids") for n in nodes[:2]]
        (log,) = wait_for(lambda: set(logs.glob("*.log")) - earlier, "it to be prepared")
        lab.runs.kill([victim.id])
        wait_for(lambda: "cancelled before it started" in log.read_text(), "its cancel", 10)
        assert all(alive(pid) for pids in running for pid in pids)  # no slot was freed for it
    finally:
        lab.runs.kill(pipeline="wide")
        worker.join(60)
    (result,) = results
    node_runs = {nr.node_id: nr for nr in lab.runs.node_runs(result.run_id or "")}
    assert node_runs[victim.id].state is NodeRunState.SKIPPED


def test_a_run_whose_kill_reached_only_nodes_not_started_yet_is_cancelled_not_completed(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    """``--jobs 1``: the first node runs, the second waits for the slot and is killed; the
    first then ends well. The run was cancelled (the CLI and the web app say so), not
    "completed" with a node that never ran."""
    made = build_pipeline(lab, "wide", {tag: NodeSpec(code=QUICK) for tag in ("a", "b")})
    lab.runs.run(RunRequest("wide"))
    running, waiting = sorted(made.values(), key=lambda n: n.id)  # handed over in this order
    gate = tmp_path / "go"
    gated = (
        "import os, pathlib, time\n"
        "reports = pathlib.Path(os.environ['NODEPIPE_REPORTS_DIR'])\n"
        "(reports / 'pids').write_text(str(os.getpid()))\n"
        f"while not pathlib.Path({str(gate)!r}).exists():\n"
        "    time.sleep(0.02)\n" + QUICK
    )
    (lab.nodes.path(running.id) / "code" / "main.py").write_text(gated)
    logs = lab.nodes.path(waiting.id) / "logs"
    earlier = set(logs.glob("*.log"))  # the first run's log, and latest.log
    results: list[RunResult] = []
    worker = threading.Thread(
        target=lambda: results.append(lab.runs.run(RunRequest("wide", force=True, jobs=1)))
    )
    worker.start()
    try:
        pids_in(lab.nodes.path(running.id) / "reports" / "pids")
        (log,) = wait_for(lambda: set(logs.glob("*.log")) - earlier, "it to be prepared")
        lab.runs.kill([waiting.id])
        # settled before the slot frees: the gate opens only then
        wait_for(lambda: "cancelled before it started" in log.read_text(), "its cancel", 10)
    finally:
        gate.touch()
        worker.join(60)
    (result,) = results
    assert result.finished is not None and result.finished.status == "cancelled"
    (recorded,) = [run for run in lab.runs.history("wide") if run.id == result.run_id]
    assert recorded.status is RunStatus.CANCELLED
    node_runs = {nr.node_id: nr for nr in lab.runs.node_runs(result.run_id or "")}
    assert node_runs[running.id].state is NodeRunState.COMPLETED
    assert node_runs[waiting.id].state is NodeRunState.SKIPPED
    assert lab.nodes.get(waiting.id).state is NodeState.COMPLETED  # its outputs are kept


def test_a_failing_launcher_settles_every_run_instead_of_hanging(
    sleeping_load: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failure injection: the launcher's loop raises once a node runs (cannot happen for real)."""
    from nodepipe.execution import process_launcher as launcher

    def broken(self: launcher.ProcessLauncher) -> None:
        raise RuntimeError("launcher broke")

    monkeypatch.setattr(launcher.ProcessLauncher, "_enforce_deadlines", broken)
    ws = sleeping_load
    results: list[RunResult] = []
    worker = threading.Thread(target=lambda: results.append(ws.runs.run(RunRequest("baseline"))))
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the run hangs"
    (result,) = results
    assert result.finished is not None and result.finished.status == "failed"
    load = ws.nodes.get("load")
    assert load.state is NodeState.FAILED and "launcher broke" in load.state_reason
    assert (ws.nodes.path("load") / "data" / "out.txt").read_text() == "good"


def test_a_run_nodepipe_fails_under_is_recorded_failed_and_kill_names_nothing_to_kill(
    chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failure injection: the executor raises as the second node is handed to it (an error of
    nodepipe's own, such as a Ray handle gone stale). The run's call raises; the run must not
    stay ``running`` in a process that lives on (a web app), and a Kill of the pipeline then
    must not signal this very process (it has no handler: it would end)."""
    from nodepipe.execution.local import LocalExecutor

    submit = LocalExecutor.submit
    handed: list[str] = []

    def breaks_at_the_second(self: LocalExecutor, task: NodeTask, *args: Any) -> Any:
        handed.append(task.tag)
        if len(handed) == 2:
            raise RuntimeError("the executor broke")
        return submit(self, task, *args)

    monkeypatch.setattr(LocalExecutor, "submit", breaks_at_the_second)
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(QUICK)

    with pytest.raises(RuntimeError, match="the executor broke"):
        chain.runs.run(RunRequest("baseline"))

    (run,) = chain.runs.history("baseline")
    assert run.status is RunStatus.FAILED
    states = {nr.state for nr in chain.runs.node_runs(run.id)}
    assert not states & {NodeRunState.QUEUED, NodeRunState.RUNNING}, states
    with pytest.raises(nodepipe.ConflictError, match="nothing to kill"):
        chain.runs.kill(pipeline="baseline")


LEAVER = """\
import os, pathlib, subprocess, sys
writer = "import time\\nwhile True:\\n    print('more', flush=True)\\n    time.sleep(0.02)"
grows = open(pathlib.Path(os.environ["NODEPIPE_DATA_DIR"]) / "grows.txt", "a")
child = subprocess.Popen([sys.executable, "-c", writer], stdout=grows)
pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"], "pids").write_text(str(child.pid))
"""


def test_processes_a_node_leaves_running_are_ended_before_its_outputs_are_promoted(
    chain: nodepipe.Workspace,
) -> None:
    """A node whose process exits 0 while a child it started keeps writing into its outputs
    (through a file opened in the staging folder, which promotion makes ``data/``): the child
    is ended before the outputs are digested and promoted, so nothing changes ``data/`` after
    the run, no process of the node outlives it, and its log says so."""
    for tag in ("clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(QUICK)
    (chain.nodes.path("load") / "code" / "main.py").write_text(LEAVER)
    result = chain.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.status == "completed"
    folder = chain.nodes.path("load")
    [child] = pids_in(folder / "reports" / "pids")
    try:
        assert not alive(child), "the node's child still runs after the run ended"
        grows = folder / "data" / "grows.txt"
        promoted = grows.read_bytes()
        threading.Event().wait(0.3)  # the child wrote every 20 ms while it lived
        assert grows.read_bytes() == promoted
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
    assert chain.nodes.get("load").state is NodeState.COMPLETED
    log = (folder / "logs" / "latest.log").read_text()
    said = "its process ended leaving 1 process(es) of its own running: they were ended"
    assert said in log
    load = chain.nodes.get("load").id
    [run_of_load] = [nr for nr in chain.runs.node_runs(result.run_id or "") if nr.node_id == load]
    assert run_of_load.message == said  # shown with the node run, not only in its log


GRACEFUL_CHILD = '''\
import os, pathlib, subprocess, sys, time
reports = pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"])
child = """
import pathlib, signal, sys, time
terms = pathlib.Path(sys.argv[1]) / "terms"
seen = []
def on_term(*_):
    seen.append(1)
    with terms.open("a") as said:
        said.write(f"SIGTERM {len(seen)}\\\\n")
    if len(seen) > 1:
        raise SystemExit("a second SIGTERM: cleanup cut short")
signal.signal(signal.SIGTERM, on_term)
(pathlib.Path(sys.argv[1]) / "ready").write_text("y")
while not seen:
    time.sleep(0.01)
time.sleep(1.0)  # its cleanup
with terms.open("a") as said:
    said.write("cleanup done\\\\n")
"""
subprocess.Popen([sys.executable, "-c", child, str(reports)])
while not (reports / "ready").exists():
    time.sleep(0.01)
(reports / "started").write_text("y")
time.sleep(600)
'''


@pytest.mark.parametrize("ending", ["kill", "timeout"])
def test_a_killed_or_timed_out_node_s_processes_get_sigterm_once(
    chain: nodepipe.Workspace, ending: str
) -> None:
    """A node whose child cleans up for a second on SIGTERM (and gives up on a second one, as
    many programs do): killed, or past its timeout, the child gets one SIGTERM and finishes its
    cleanup, even though the node's own process dies at once."""
    folder = chain.nodes.path("load")
    (folder / "code" / "main.py").write_text(GRACEFUL_CHILD)
    if ending == "timeout":
        pyproject = folder / "code" / "pyproject.toml"
        text = pyproject.read_text()
        pyproject.write_text(text.replace('entry = "main.py"', 'entry = "main.py"\ntimeout = 2'))
    results: list[RunResult] = []
    runner = threading.Thread(target=lambda: results.append(chain.runs.run(RunRequest("baseline"))))
    runner.start()
    wait_for((folder / "reports" / "started").exists, "the node's child to be ready")
    if ending == "kill":
        chain.runs.kill(["load"])
    runner.join(timeout=60)
    terms = folder / "reports" / "terms"
    wait_for(lambda: "cleanup done" in terms.read_text(), "the child's cleanup", 15)
    assert terms.read_text() == "SIGTERM 1\ncleanup done\n"


FORKSERVER_POOL = """\
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
if __name__ == "__main__":
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(abs, -2).result() == 2
"""


def test_helpers_that_end_by_themselves_after_the_node_are_not_ended_nor_reported(
    chain: nodepipe.Workspace,
) -> None:
    """A node using a process pool on the ``forkserver`` start method (Python 3.14's default)
    leaves the fork server and the resource tracker ending as it exits: they end by
    themselves, so nothing is signalled and its log says nothing about them."""
    for tag in ("clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(QUICK)
    (chain.nodes.path("load") / "code" / "main.py").write_text(FORKSERVER_POOL)
    for _ in range(3):
        result = chain.runs.run(RunRequest("baseline", force=True))
        assert result.finished is not None and result.finished.status == "completed"
        log = (chain.nodes.path("load") / "logs" / "latest.log").read_text()
        assert "of its own running" not in log, log


LEAVES_ANOTHER_USERS = """\
import os, pathlib, subprocess
other = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sleep", "60"]
left = subprocess.Popen(other)
pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"], "pids").write_text(str(left.pid))
(pathlib.Path(os.environ["NODEPIPE_DATA_DIR"]) / "out.txt").write_text("good")
"""
RUN_WITHOUT_CAP_KILL = """\
import sys
from pathlib import Path
import nodepipe
from nodepipe.services.runs.service import RunRequest
result = nodepipe.open(Path(sys.argv[1])).runs.run(RunRequest("baseline"))
print(result.finished.status)
"""


def test_what_a_node_leaves_that_nodepipe_may_not_signal_does_not_fail_the_node(
    chain: nodepipe.Workspace,
) -> None:
    """The node exits 0 leaving a process of another user (``nobody``), which nodepipe,
    running without the capability to signal others' processes, may not end: the node still
    completes with its outputs, and its log says what could not be ended."""
    for tag in ("clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(QUICK)
    folder = chain.nodes.path("load")
    (folder / "code" / "main.py").write_text(LEAVES_ANOTHER_USERS)
    without_kill = ["setpriv", "--bounding-set=-kill", "--inh-caps=-kill"]
    done = subprocess.run(
        [*without_kill, sys.executable, "-c", RUN_WITHOUT_CAP_KILL, str(chain.root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    [left] = pids_in(folder / "reports" / "pids")
    try:
        assert done.stdout.strip() == "completed", done.stdout + done.stderr
        assert (folder / "data" / "out.txt").read_text() == "good"
        log = (folder / "logs" / "latest.log").read_text()
        assert "1 could not be ended (not this user's)" in log, log
    finally:
        if alive(left):
            os.kill(left, signal.SIGKILL)


STUBBORN_CHILD = """\
import os, pathlib, subprocess, sys, time
code = "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(120)"
child = subprocess.Popen([sys.executable, "-c", code])
time.sleep(0.5)  # its handler is set
pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"], "pids").write_text(str(child.pid))
time.sleep(600)
"""


def test_a_timed_out_node_s_stubborn_child_is_gone_when_the_run_returns(
    chain: nodepipe.Workspace,
) -> None:
    """The node dies on its timeout's SIGTERM, its child ignores it: the run waits for the
    SIGKILL after the grace period before it concludes, so the child does not outlive it."""
    folder = chain.nodes.path("load")
    (folder / "code" / "main.py").write_text(STUBBORN_CHILD)
    pyproject = folder / "code" / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('entry = "main.py"', 'entry = "main.py"\ntimeout = 2'))
    result = chain.runs.run(RunRequest("baseline"))
    [child] = pids_in(folder / "reports" / "pids")
    try:
        assert result.finished is not None and result.finished.status == "failed"
        assert not alive(child), "the node's child outlived the run"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


STUBBORN_LEAVER = """\
import os, pathlib, subprocess, sys, time
code = "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(120)"
child = subprocess.Popen([sys.executable, "-c", code])
time.sleep(0.5)  # its handler is set
reports = pathlib.Path(os.environ["NODEPIPE_REPORTS_DIR"])
(reports / "pids").write_text(f"{os.getpid()} {child.pid}")
(pathlib.Path(os.environ["NODEPIPE_DATA_DIR"]) / "out.txt").write_text("new")
"""


def test_orchestrator_killed_while_it_ends_what_a_node_left_loses_and_leaves_nothing(
    chain: nodepipe.Workspace,
) -> None:
    """The node exits 0 leaving a child that ignores SIGTERM; while nodepipe waits out the
    grace period before its SIGKILL (the outputs not promoted yet), nodepipe is SIGKILLed.
    The next command kills the child, records the run interrupted, and the node keeps its
    previous outputs; no staging is left."""
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(QUICK)
    chain.runs.run(RunRequest("baseline"))
    folder = chain.nodes.path("load")
    (folder / "code" / "main.py").write_text(STUBBORN_LEAVER)
    orchestrator = subprocess.Popen(
        [NODEPIPE, "run", "baseline"],
        cwd=chain.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NODEPIPE_FORK_SERVER": "0"},
    )
    node, child = pids_in(folder / "reports" / "pids")
    try:
        wait_for(lambda: not alive(node), "the node's own process to end", 30)
        assert alive(child)  # ignoring SIGTERM, within the grace period
        orchestrator.send_signal(signal.SIGKILL)
        orchestrator.wait(30)
        subprocess.run([NODEPIPE, "status", "baseline"], cwd=chain.root, check=True)
        assert gone(child)
        assert (folder / "data" / "out.txt").read_text() == "good"
        assert not any((folder / ".staging").iterdir())
        (run,) = [r for r in chain.runs.history("baseline") if r.status.value != "completed"]
        assert run.status.value == "interrupted"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_kill_the_store_cannot_answer_leaves_the_process_that_hears_kills_running(
    chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app hears kills on its event loop's thread: a kill it cannot read (the store
    out of reach) is not heard, and the app goes on."""
    from nodepipe.services.runs import service

    cancelled: list[object] = []

    class Listening:
        def cancel(self, node_ids: object) -> None:
            cancelled.append(node_ids)

    def unreachable() -> object:
        raise RuntimeError("the store is out of reach")

    monkeypatch.setitem(service._ACTIVE_RUNNERS, "some-run", Listening())  # type: ignore[arg-type]
    with chain.runs.kills_heard():
        monkeypatch.setattr(chain.context.store, "read", unreachable)
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.1)  # the handler runs at the next bytecode: this process is still here
    assert cancelled == []
