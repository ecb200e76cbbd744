"""The Ray executor against a real Ray cluster that the tests start on loopback.

Every test here runs inside private network and PID namespaces (see ``support.ray_cluster``):
outside them, each test is a stand-in that reports how the real one did inside.
"""

from __future__ import annotations

import ast
import dataclasses
import errno
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from nodepipe.cli.fork_client import SWITCH_ENV
from nodepipe.domain.events import (
    Listener,
    NodeFinished,
    NodePreparing,
    NodeStarted,
    RunEvent,
)
from nodepipe.domain.runs import NodeRunState, RunOutcome, TaskOutcome
from nodepipe.execution.local import LocalExecutor
from nodepipe.execution.process_groups import group_members
from nodepipe.execution.task import NodeTask
from nodepipe.services.runs.service import RunRequest, RunResult, RunService
from support.conda_channel import conda_channel
from support.pid_reuse import with_pid
from support.ray_cluster import (
    NamespaceResults,
    RayCluster,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.waiting import wait_for
from support.worlds import STUBBORN_CHILD_OF_A_SHORT_NODE, node_runs, write_main

CLUSTER_CPUS = 2


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """Inside the namespace: a Ray head node with two CPUs on 127.0.0.1."""
    with RayCluster(num_cpus=CLUSTER_CPUS) as cluster:
        yield cluster


# Building worlds -------------------------------------------------------------------------------


def set_resources(folder: Path, settings: str) -> None:
    pyproject = folder / "code" / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(f"{text}\n[tool.nodepipe.resources]\n{settings}\n", encoding="utf-8")


def run_on_ray(
    ws: nodepipe.Workspace, cluster: RayCluster, pipeline: str, listeners: Sequence[Listener] = ()
) -> RunResult:
    request = RunRequest(pipeline, executor="ray", ray_address=cluster.address, jobs=CLUSTER_CPUS)
    return RunService(ws.context).run(request, listeners)


def run_in_background(
    ws: nodepipe.Workspace, cluster: RayCluster, pipeline: str, listeners: Sequence[Listener] = ()
) -> Callable[[], RunResult]:
    """Start a run in a thread; returns a function that waits for its result."""
    results: list[RunResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(run_on_ray(ws, cluster, pipeline, listeners))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait() -> RunResult:
        thread.join(timeout=180)
        assert not thread.is_alive(), "the run did not end"
        if errors:
            raise errors[0]
        return results[0]

    return wait


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# Tests -----------------------------------------------------------------------------------------


def test_only_the_ray_package_imports_ray() -> None:
    """Ray stays an optional extra: only ``execution/ray/`` imports it (runs everywhere)."""
    package = Path(nodepipe.__file__).parent
    importers = set()
    for module in package.rglob("*.py"):
        for statement in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom) and statement.level == 0:
                names = [statement.module or ""]
            else:
                continue
            if any(name == "ray" or name.startswith("ray.") for name in names):
                importers.add(module.relative_to(package).as_posix())
    assert importers == {
        "execution/ray/cluster.py",
        "execution/ray/executor.py",
        "execution/ray/last_word.py",
        "execution/ray/messages.py",
        "execution/ray/worker.py",
    }


@in_ray_namespace
def test_diamond_pipeline_runs_on_the_ray_cluster(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """a → b, a → c, b + c → d on Ray workers: d reads both, logs in place, store says ray."""
    lab.pipelines.new("diamond")
    for tag in "abcd":
        lab.nodes.new("diamond", tag)
    lab.edges.connect("a", "b", "diamond")
    lab.edges.connect("a", "c", "diamond")
    lab.edges.connect("b", "d", "diamond", slot="01")
    lab.edges.connect("c", "d", "diamond", slot="02")
    write_main(
        lab,
        "a",
        """
        print("hello from", node.tag())
        (node.data_dir() / "value.txt").write_text("a")
        """,
    )
    for tag in "bc":
        write_main(
            lab,
            tag,
            f"""
            print("hello from", node.tag())
            source = (node.parent("01").data_dir / "value.txt").read_text()
            (node.data_dir() / "value.txt").write_text("{tag}(" + source + ")")
            """,
        )
    write_main(
        lab,
        "d",
        """
        print("hello from", node.tag(), "with", [p.tag for p in node.parents()])
        left = (node.parent("01").data_dir / "value.txt").read_text()
        right = (node.parent("02").data_dir / "value.txt").read_text()
        (node.data_dir() / "value.txt").write_text(f"d({left},{right})")
        """,
    )

    result = run_on_ray(lab, ray_cluster, "diamond")

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "completed"
    assert result.finished.completed == 4
    d_output = lab.nodes.path("d") / "data" / "value.txt"
    assert d_output.read_text() == "d(b(a),c(a))"
    with lab.context.store.read() as session:
        run = session.get_run(result.run_id)
    assert run is not None and run.executor == "ray"
    runs = node_runs(lab, result.run_id)
    assert set(runs) == set("abcd")
    for tag, node_run in runs.items():
        assert node_run.state is NodeRunState.COMPLETED, (tag, node_run.message)
        assert node_run.host == socket.gethostname()
        assert node_run.pid is not None and node_run.pid != os.getpid()
        log = lab.nodes.path(tag) / "logs" / f"{node_run.id}.log"
        assert node_run.log_file == str(log)
        text = log.read_text()
        assert f"hello from {tag}" in text
        worker_line = next(line for line in text.splitlines() if "Ray worker on" in line)
        assert f"(pid {os.getpid()})" not in worker_line  # a Ray worker, not this process
    assert "with ['b', 'c']" in (lab.nodes.path("d") / "logs" / "latest.log").read_text()
    assert lab.nodes.get("d").state is nodepipe.NodeState.COMPLETED
    recorded = lab.run_envs.show("d", result.run_id)  # the worker recorded what d ran with
    assert recorded.python and recorded.files["main.py"] and "uv" in recorded.locks


@in_ray_namespace
def test_a_node_runs_its_conda_tool_on_a_ray_worker(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """The worker builds the conda prefix from the lock, puts its bin/ first on PATH, sets
    CONDA_PREFIX, and records the conda lock with the run."""
    channel = conda_channel(tmp_path / "conda")
    lab.pipelines.new("tools")
    lab.nodes.new("tools", "t")
    folder = write_main(
        lab,
        "t",
        """
        import os, subprocess
        said = subprocess.run(["hello-tool"], capture_output=True, text=True, check=True).stdout
        (node.data_dir() / "tool.txt").write_text(said.strip() + " " + os.environ["CONDA_PREFIX"])
        """,
    )
    lab.conda.add("t", ["hello-tool 2.0.*"], [str(channel)])
    prefix = folder / "code" / ".conda"
    shutil.rmtree(prefix)  # the worker builds it from the lock

    result = run_on_ray(lab, ray_cluster, "tools")

    assert result.finished is not None and result.run_id is not None
    assert result.finished.completed == 1, node_runs(lab, result.run_id)["t"].message
    assert (folder / "data" / "tool.txt").read_text() == f"hello-tool 2.0 {prefix}"
    assert "conda" in lab.run_envs.show("t", result.run_id).locks


@in_ray_namespace
def test_node_resources_are_reserved_on_the_cluster(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """cpus = 2 and memory = "100MB" from the node's config are what Ray reserves for it."""
    import ray

    lab.pipelines.new("wide")
    lab.nodes.new("wide", "big")
    folder = write_main(
        lab,
        "big",
        """
        import time
        (node.reports_dir() / "started").write_text("yes")
        deadline = time.monotonic() + 120
        while not (node.reports_dir() / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        (node.data_dir() / "done.txt").write_text("done")
        """,
    )
    set_resources(folder, 'cpus = 2\nmemory = "100MB"')
    reports = folder / "reports"

    wait = run_in_background(lab, ray_cluster, "wide")
    wait_for((reports / "started").exists, "the node to start", 120)
    total = ray.cluster_resources()
    observed: dict[str, float] = {}

    def reserved() -> bool:
        observed.clear()
        observed.update(ray.available_resources())
        return (
            observed.get("CPU", 0.0) == 0.0
            and observed.get("memory") == total["memory"] - 100 * 1024**2
        )

    wait_for(reserved, "Ray to show the node's CPUs and memory as reserved", timeout=30)
    (reports / "release").write_text("go")
    result = wait()

    assert result.finished is not None and result.finished.status == "completed"
    assert total["CPU"] == CLUSTER_CPUS
    log = (folder / "logs" / "latest.log").read_text()
    assert "reserved CPU=2, memory=104857600" in log
    assert not ray.is_initialized()  # the executor connected, so it disconnected


SLEEPER = """
import os, signal, subprocess, time
if not node.params().get("forever"):
    (node.data_dir() / "out.txt").write_text("first")
    raise SystemExit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL ends it (its child inherits this)
child = subprocess.Popen(["sleep", "1000"])
(node.data_dir() / "out.txt").write_text("half-written")
(node.reports_dir() / "pids.tmp").write_text(f"{os.getpid()} {child.pid}")
(node.reports_dir() / "pids.tmp").rename(node.reports_dir() / "pids")
while True:
    time.sleep(1)
"""


def sleepy_pipeline(ws: nodepipe.Workspace) -> Path:
    """Pipeline ``sleepy``: sleeper → after; sleeper sleeps forever with ``forever=true``."""
    ws.pipelines.new("sleepy")
    ws.nodes.new("sleepy", "sleeper")
    ws.nodes.new("sleepy", "after")
    ws.edges.connect("sleeper", "after", "sleepy")
    write_main(ws, "after", "(node.data_dir() / 'seen.txt').write_text('ran')\n")
    return write_main(ws, "sleeper", SLEEPER)


def sleeper_pids(folder: Path, check_alive: bool = True) -> tuple[int, int]:
    """(node process, its child) once the sleeper is in its endless loop."""
    pids_file = folder / "reports" / "pids"
    wait_for(pids_file.exists, "the sleeper to start", 120)
    node_pid, child_pid = (int(p) for p in pids_file.read_text().split())
    if check_alive:
        assert alive(node_pid) and alive(child_pid)
    return node_pid, child_pid


@in_ray_namespace
def test_kill_cancels_the_node_on_its_worker_and_skips_descendants(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """A node that ignores SIGTERM, killed mid-run: its process group ends, old outputs stay;
    Ray's cancellation reaches every listener as the outcome CANCELLED."""
    folder = sleepy_pipeline(lab)
    first = run_on_ray(lab, ray_cluster, "sleepy")
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("sleeper", ["forever=true"])
    events: list[RunEvent] = []

    wait = run_in_background(lab, ray_cluster, "sleepy", [events.append])
    node_pid, child_pid = sleeper_pids(folder)
    killed = RunService(lab.context).kill(["sleeper"])
    result = wait()

    assert [nr.node_id for nr in killed] == [lab.nodes.get("sleeper").id]
    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "cancelled"
    (ended,) = [e for e in events if isinstance(e, NodeFinished)]
    assert ended.outcome.status is RunOutcome.CANCELLED
    assert ended.state is nodepipe.NodeState.CANCELLED
    runs = node_runs(lab, result.run_id)
    assert runs["sleeper"].state is NodeRunState.CANCELLED
    assert runs["sleeper"].pid == node_pid
    assert runs["after"].state is NodeRunState.SKIPPED
    assert runs["after"].message == "upstream sleeper was cancelled"
    assert not alive(node_pid), "the node process survived the kill"
    assert not alive(child_pid), "the node's child process survived the kill"
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert not list((folder / ".staging").glob("*"))
    assert lab.nodes.get("sleeper").state is nodepipe.NodeState.CANCELLED


def worker_pid_of(folder: Path) -> int:
    """The pid of the Ray worker process the node's latest log says it runs in."""
    log = (folder / "logs" / "latest.log").read_text()
    line = next(line for line in log.splitlines() if "Ray worker on" in line)
    return int(line.split("(pid ", 1)[1].split(")", 1)[0])


@in_ray_namespace
def test_a_killed_task_worker_fails_its_node_saying_so_in_its_run_and_its_log(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """The Ray worker running a node as a task is SIGKILLed: the node run fails saying its
    worker died, in nodepipe's words as on a slot (not Ray's exception's name as if nodepipe
    could not run it), and its log, which the worker never ended, says so too; its process
    group dies with the worker (the watchdog), the old outputs stay, the node below is
    skipped. The worker is killed once the run has heard the node started: the worker reports
    it while the node runs, and a kill before it arrives leaves the run saying the worker the
    node "was given to" died (``test_ray_quiet``)."""
    folder = sleepy_pipeline(lab)
    first = run_on_ray(lab, ray_cluster, "sleepy")
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("sleeper", ["forever=true"])
    events: list[RunEvent] = []
    wait = run_in_background(lab, ray_cluster, "sleepy", [events.append])
    node_pid, child_pid = sleeper_pids(folder)
    sleeper = lab.nodes.get("sleeper").id
    wait_for(
        lambda: any(isinstance(e, NodeStarted) and e.node_id == sleeper for e in events),
        "the run to hear the sleeper started",
        30,
    )

    os.kill(worker_pid_of(folder), signal.SIGKILL)
    result = wait()

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "failed"
    runs = node_runs(lab, result.run_id)
    assert runs["sleeper"].state is NodeRunState.FAILED
    said = "the Ray worker running the node died: "
    assert runs["sleeper"].message.startswith(said), runs["sleeper"].message
    assert runs["after"].message == "upstream sleeper failed"
    last = (folder / "logs" / "latest.log").read_text().splitlines()[-1]
    assert last.startswith(f"# nodepipe: {said}"), last
    wait_for(lambda: not alive(node_pid) and not alive(child_pid), "the node to die", 30)
    assert (folder / "data" / "out.txt").read_text() == "first"


CRASHING_ORCHESTRATOR = """
import os, sys, threading, time
import nodepipe
from nodepipe.services.runs.service import RunRequest, RunService
ws = nodepipe.open(sys.argv[1])
pids = ws.nodes.path("sleeper") / "reports" / "pids"
def crash():
    while not pids.exists():
        time.sleep(0.05)
    os._exit(3)
threading.Thread(target=crash, daemon=True).start()
RunService(ws.context).run(RunRequest("sleepy", executor="ray", ray_address=sys.argv[2]))
"""


@in_ray_namespace
def test_a_dead_orchestrator_leaves_no_node_process_on_the_workers(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """The nodepipe process dies mid-run: Ray stops its worker, which kills the node's group.
    Two nodes run before it, so its worker process has most likely run one already: the
    watchdog a worker keeps from node to node still covers the node that runs now."""
    folder = orchestrator_dies_under_the_sleeper(lab, ray_cluster, CRASHING_ORCHESTRATOR)
    assert lab.nodes.get("sleeper").state is nodepipe.NodeState.FAILED
    assert not (folder / "data" / "out.txt").exists()


def orchestrator_dies_under_the_sleeper(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, orchestrator_code: str
) -> Path:
    """``orchestrator_code`` runs the sleepy pipeline (two nodes, then the sleeper) and dies
    while the sleeper runs; the node and its child die with it, and the next command marks the
    sleeper interrupted and gives back what follows it, which never started. The sleeper's
    folder."""
    folder = sleepy_pipeline(lab)
    lab.nodes.set_params("sleeper", ["forever=true"])
    for tag in ("first", "second"):
        lab.nodes.new("sleepy", tag)
        write_main(lab, tag, f"(node.data_dir() / 'out.txt').write_text('{tag}')\n")
        lab.edges.connect(tag, "sleeper", "sleepy")
    orchestrator = subprocess.Popen(
        [sys.executable, "-c", orchestrator_code, str(lab.root), ray_cluster.address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # the orchestrator crashes as soon as the pids are written: they may be gone already
    node_pid, child_pid = sleeper_pids(folder, check_alive=False)
    assert orchestrator.wait(timeout=120) == 3

    wait_for(lambda: not alive(node_pid) and not alive(child_pid), "the node to die", 30)
    interrupted = RunService(lab.context).recover()
    assert {nr.node_id for nr in interrupted} == {lab.nodes.get("sleeper").id}
    (after,) = lab.runs.node_history("after", "sleepy")[:1]
    assert after.state is NodeRunState.SKIPPED and after.message.startswith("not started")
    return folder


@in_ray_namespace
def test_without_an_address_a_private_local_ray_is_started_and_stopped(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--executor ray`` without ``--ray-address``: a local Ray just for the run, then gone."""
    import ray

    ray_dir = Path(tempfile.mkdtemp(prefix="nprl-", dir="/tmp"))  # short: Ray's socket paths
    monkeypatch.setenv("RAY_TMPDIR", str(ray_dir))
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "only")
    folder = write_main(lab, "only", "(node.data_dir() / 'out.txt').write_text('local ray')\n")
    try:
        result = RunService(lab.context).run(RunRequest("solo", executor="ray"))

        assert result.finished is not None and result.finished.status == "completed"
        assert (folder / "data" / "out.txt").read_text() == "local ray"
        assert "Ray worker on" in (folder / "logs" / "latest.log").read_text()
        assert not ray.is_initialized()
        wait_for(
            lambda: not processes_mentioning(str(ray_dir)),
            "the local Ray's processes to end",
            timeout=30,
        )
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


# Warm slots: nodes with the default resources, on a connection kept open -----------------------


@pytest.fixture
def kept_connection(ray_cluster: RayCluster) -> Iterator[None]:
    """This process connects to the cluster itself, as a long-lived program does: its runs put
    nodes with the default resources on warm slot actors."""
    import ray

    ray.init(address=ray_cluster.address, log_to_driver=False, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


SPAN = """
import time
(node.reports_dir() / "span").write_text(f"{time.monotonic()} ")
time.sleep(0.3)
with (node.reports_dir() / "span").open("a") as span:
    span.write(f"{time.monotonic()}")
(node.data_dir() / "out.txt").write_text("done")
"""


@in_ray_namespace
def test_jobs_bounds_the_nodes_running_at_once_on_a_larger_cluster(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """--jobs 1 on a cluster with two CPUs: the nodes handed over ahead (prepared on the slot's
    worker meanwhile) run one after another, never two at once."""
    lab.pipelines.new("row")
    tags = ["n1", "n2", "n3", "n4"]
    for tag in tags:
        lab.nodes.new("row", tag)
        write_main(lab, tag, SPAN)
    request = RunRequest("row", executor="ray", ray_address=ray_cluster.address, jobs=1)

    result = RunService(lab.context).run(request)

    assert result.finished is not None and result.finished.status == "completed"
    spans = sorted(
        tuple(float(t) for t in (lab.nodes.path(tag) / "reports" / "span").read_text().split())
        for tag in tags
    )
    for (_, ended), (began, _) in itertools.pairwise(spans):
        assert began >= ended, f"two nodes ran at once under --jobs 1: {spans}"


PARENT = """
import os
with open(f"/proc/{os.getppid()}/cmdline", "rb") as cmdline:
    (node.data_dir() / "parent").write_bytes(cmdline.read())
"""


@in_ray_namespace
def test_a_slot_forks_its_nodes_from_a_warm_interpreter_unless_told_not_to(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """On a warm slot, node processes are forked warm as the local executor forks them
    (``execution.warm_start``: from the second node of a kind on, its warm interpreter starts
    beside that one); ``NODEPIPE_WARM_START=0`` where the run is made reaches the
    workers with its tasks, and every node process starts from nothing."""
    lab.pipelines.new("row")
    tags = ["n1", "n2", "n3", "n4"]
    for tag in tags:
        lab.nodes.new("row", tag)
        write_main(lab, tag, ("import time\ntime.sleep(0.5)\n" if tag == "n2" else "") + PARENT)
    for parent, child in itertools.pairwise(tags):
        lab.edges.connect(parent, child, "row")
    request = RunRequest("row", executor="ray", ray_address=ray_cluster.address, jobs=1, force=True)
    seen: dict[bool, list[bool]] = {}
    for warm in (True, False):
        os.environ["NODEPIPE_WARM_START"] = "1" if warm else "0"
        try:
            result = RunService(lab.context).run(request)
        finally:
            del os.environ["NODEPIPE_WARM_START"]
        assert result.finished is not None and result.finished.status == "completed"
        seen[warm] = [
            b"nodepipe_warm.py" in (lab.nodes.path(tag) / "data" / "parent").read_bytes()
            for tag in tags[2:]
        ]
    assert seen == {True: [True, True], False: [False, False]}


@in_ray_namespace
def test_a_node_asking_for_more_cpus_runs_beside_warm_slots(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """a → big (cpus = 2, the whole cluster), a → c → d, run twice: the slots that ran a and c
    (and those the first run left idle) hold a CPU each while they live, and must not keep big
    waiting for ever."""
    lab.pipelines.new("mixed")
    for tag in ("a", "big", "c", "d"):
        lab.nodes.new("mixed", tag)
        write_main(lab, tag, f"(node.data_dir() / 'out.txt').write_text('{tag}')\n")
    for parent, child in (("a", "big"), ("a", "c"), ("c", "d")):
        lab.edges.connect(parent, child, "mixed")
    set_resources(lab.nodes.path("big"), "cpus = 2")
    request = RunRequest(
        "mixed", executor="ray", ray_address=ray_cluster.address, jobs=2, force=True
    )

    for _ in range(2):
        result = RunService(lab.context).run(request)

        assert result.finished is not None and result.run_id is not None
        assert result.finished.status == "completed", node_runs(lab, result.run_id)
        assert "reserved CPU=2" in (lab.nodes.path("big") / "logs" / "latest.log").read_text()
        for tag in ("a", "c", "d"):
            assert "reserved CPU=1" in (lab.nodes.path(tag) / "logs" / "latest.log").read_text()


@in_ray_namespace
def test_kill_cancels_the_node_on_its_slot(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """A node that ignores SIGTERM, killed mid-run on a slot: its process group ends, old
    outputs stay, the node below is skipped; the slot then runs the next run's nodes."""
    folder = sleepy_pipeline(lab)
    request = RunRequest("sleepy", executor="ray", ray_address=ray_cluster.address, jobs=2)
    first = RunService(lab.context).run(request)
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("sleeper", ["forever=true"])
    events: list[RunEvent] = []
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(RunService(lab.context).run(request, [events.append]))
    )
    runner.start()
    node_pid, child_pid = sleeper_pids(folder)

    RunService(lab.context).kill(["sleeper"])
    runner.join(timeout=180)

    (result,) = results
    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "cancelled"
    (ended,) = [e for e in events if isinstance(e, NodeFinished)]
    assert ended.outcome.status is RunOutcome.CANCELLED
    runs = node_runs(lab, result.run_id)
    assert runs["sleeper"].state is NodeRunState.CANCELLED
    assert runs["sleeper"].pid == node_pid
    assert runs["after"].state is NodeRunState.SKIPPED
    assert not alive(node_pid) and not alive(child_pid)
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert not list((folder / ".staging").glob("*"))
    write_main(lab, "sleeper", "(node.data_dir() / 'out.txt').write_text('again')\n")
    again = RunService(lab.context).run(request)
    assert again.finished is not None and again.finished.status == "completed"


STUBBORN_CHILD = """
import os, subprocess, time
child = subprocess.Popen(["bash", "-c", "trap '' TERM; sleep 300"])  # the node dies on SIGTERM
time.sleep(0.5)  # the trap is set
(node.reports_dir() / "pids.tmp").write_text(f"{os.getpid()} {child.pid}")
(node.reports_dir() / "pids.tmp").rename(node.reports_dir() / "pids")
time.sleep(300)
"""


@in_ray_namespace
def test_kill_on_a_slot_ends_the_whole_group_before_the_run_returns(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """The node dies on SIGTERM, its child ignores it: killed on a slot, the child is gone by
    the time the run returns (the program may end, or disconnect, right after)."""
    lab.pipelines.new("stubborn")
    lab.nodes.new("stubborn", "leader")
    write_main(lab, "leader", STUBBORN_CHILD)
    wait = run_in_background(lab, ray_cluster, "stubborn")
    node_pid, child_pid = sleeper_pids(lab.nodes.path("leader"))

    RunService(lab.context).kill(["leader"])
    result = wait()

    assert result.finished is not None and result.finished.status == "cancelled"
    assert not alive(child_pid), "the node's child outlived the run"
    assert not alive(node_pid)


NODEPIPE = str(Path(sys.executable).parent / "nodepipe")


@in_ray_namespace
def test_ctrl_c_of_a_scripts_background_run_stops_its_nodes_on_the_local_ray(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    """``nodepipe run --executor ray &`` in a script (its shell starts it with SIGINT ignored,
    and so the local Ray it starts), then Ctrl-C: the command ends once the node's whole group
    has (its child ignores SIGTERM), the node run is cancelled, not ended by itself, and the
    node below it skipped; no half-written output lands."""
    lab.pipelines.new("sleepy")
    lab.nodes.new("sleepy", "sleeper")
    lab.nodes.new("sleepy", "after")
    lab.edges.connect("sleeper", "after", "sleepy")
    folder = write_main(lab, "sleeper", STUBBORN_CHILD_OF_A_SHORT_NODE)
    ray_dir = Path(tempfile.mkdtemp(prefix="nprc-", dir="/tmp"))  # short: Ray's socket paths
    env = {**os.environ, SWITCH_ENV: "0", "RAY_TMPDIR": str(ray_dir)}
    script = '"$@" >run.out 2>&1 & echo $!; wait $!'
    argv = [NODEPIPE, "-w", str(lab.root), "run", "sleepy", "--executor", "ray"]
    command = subprocess.Popen(
        ["sh", "-c", script, "sh", *argv], stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env
    )
    assert command.stdout is not None
    run_pid = int(command.stdout.readline())
    node_pid = child_pid = 0
    try:
        node_pid, child_pid = sleeper_pids(folder)
        os.kill(run_pid, signal.SIGINT)
        command.wait(timeout=120)
        output = (tmp_path / "run.out").read_text()

        assert command.returncode == 130, output
        assert group_members(node_pid) == [], "a process of the node outlived `nodepipe run`"
        (run,) = RunService(lab.context).history("sleepy")
        runs = node_runs(lab, run.id)
        assert runs["sleeper"].state is NodeRunState.CANCELLED
        assert runs["after"].state is NodeRunState.SKIPPED
        log = (folder / "logs" / "latest.log").read_text()
        assert "exited with code" not in log, log
        assert not (folder / "data" / "out.txt").exists()
    finally:
        for pid in (run_pid, node_pid, child_pid):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
        command.kill()
        command.communicate()
        shutil.rmtree(ray_dir, ignore_errors=True)


LONG_NODE = """
import time
marks = [__MARKS__]
deadline = time.monotonic() + 40
while not all(m.exists() for m in marks) and time.monotonic() < deadline:
    time.sleep(0.05)
(node.data_dir() / "out.txt").write_text(" ".join(m.name for m in marks if m.exists()))
"""


@in_ray_namespace
def test_a_ready_node_never_waits_behind_another_slots_long_node(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """--jobs 2: a long node, and r → s1, s2, s3. The short ones all run on the other slot
    while the long one runs (it waits for them, up to 40 s): none is queued behind it."""
    lab.pipelines.new("hol")
    marks = lab.root / "marks"
    marks.mkdir()
    for tag in ("long", "r", "s1", "s2", "s3"):
        lab.nodes.new("hol", tag)
    shorts = ("s1", "s2", "s3")
    for tag in shorts:
        lab.edges.connect("r", tag, "hol")
        mark = f"pathlib.Path({str(marks / tag)!r}).touch()"
        write_main(lab, tag, f"import pathlib, time\ntime.sleep(1)\n{mark}\n")
    write_main(lab, "r", "import time\ntime.sleep(0.5)\n")
    paths = ", ".join(f"pathlib.Path({str(marks / tag)!r})" for tag in shorts)
    write_main(lab, "long", "import pathlib\n" + LONG_NODE.replace("__MARKS__", paths))

    result = run_on_ray(lab, ray_cluster, "hol")

    assert result.finished is not None and result.finished.status == "completed"
    seen = (lab.nodes.path("long") / "data" / "out.txt").read_text()
    assert seen == "s1 s2 s3", f"the long node ended having seen only: {seen!r}"


@in_ray_namespace
def test_nodes_offered_to_a_slot_whose_node_turns_out_long_run_elsewhere_without_a_trace(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """--jobs 2, six roots: a long node (it waits for the others' marks, up to 40 s) and five
    that take 0.3 s. A node offered to the long node's slot before it is known to be long must
    not wait there: all five run on the other slot while the long one runs, each prepared and
    placed once (one placement line in its log), nothing staged left."""
    lab.pipelines.new("offers")
    marks = lab.root / "marks"
    marks.mkdir()
    shorts = [f"s{i}" for i in range(1, 6)]
    for index in range(6):
        lab.nodes.new("offers", f"n{index}")
    # the plan gives roots out by id: the long node first, so that a short one is offered to
    # its slot before its start is known
    ids = sorted(node.id for node in lab.nodes.list("offers"))
    for node_id, tag in zip(ids, ["long", *shorts], strict=True):
        lab.nodes.rename(node_id, tag, "offers")
    for tag in shorts:
        mark = f"pathlib.Path({str(marks / tag)!r}).touch()"
        write_main(lab, tag, f"import pathlib, time\ntime.sleep(0.3)\n{mark}\n")
    paths = ", ".join(f"pathlib.Path({str(marks / tag)!r})" for tag in shorts)
    write_main(lab, "long", "import pathlib\n" + LONG_NODE.replace("__MARKS__", paths))

    for _ in range(2):  # the second time on the slots the first left
        for touched in marks.iterdir():
            touched.unlink()
        request = RunRequest(
            "offers", executor="ray", ray_address=ray_cluster.address, jobs=2, force=True
        )
        result = RunService(lab.context).run(request)

        assert result.finished is not None and result.run_id is not None
        assert result.finished.status == "completed", node_runs(lab, result.run_id)
        seen = (lab.nodes.path("long") / "data" / "out.txt").read_text()
        assert seen == " ".join(shorts), f"the long node ended having seen only: {seen!r}"
        for tag in shorts:
            folder = lab.nodes.path(tag)
            log = (folder / "logs" / "latest.log").read_text()
            assert log.count("Ray worker on") == 1, log
            assert not list((folder / ".staging").glob("*"))


SPAN_OF = """
import time
began = time.monotonic()
time.sleep(__SECONDS__)
(node.reports_dir() / "span").write_text(f"{began} {time.monotonic()}")
"""


def span_of(lab: nodepipe.Workspace, tag: str) -> tuple[float, float]:
    """When the node (``SPAN_OF``) began and ended, in monotonic seconds."""
    began, ended = (lab.nodes.path(tag) / "reports" / "span").read_text().split()
    return float(began), float(ended)


def node_tasks(
    lab: nodepipe.Workspace, pipeline: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, NodeTask]:
    """The ``NodeTask`` of each node of ``pipeline`` by tag, as a local run submits them."""
    tasks: dict[str, NodeTask] = {}
    submit = LocalExecutor.submit

    def recording(self: LocalExecutor, task: NodeTask, *args: Any) -> Any:
        tasks[task.tag] = task
        return submit(self, task, *args)

    with monkeypatch.context() as patch:
        patch.setattr(LocalExecutor, "submit", recording)
        RunService(lab.context).run(RunRequest(pipeline, force=True))
    return tasks


@in_ray_namespace
def test_a_node_offered_to_a_slot_never_goes_before_the_one_it_was_offered_behind(
    lab: nodepipe.Workspace,
    ray_cluster: RayCluster,
    kept_connection: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a real slot actor, which serves calls in no set order: a long node offered behind a
    short one, its call served first, still waits for the short one (then runs, or is not
    taken); and a short node offered behind a long one is not taken, with nothing of it written
    (no log, no staging), while the long one runs on to its outcome."""
    import ray

    from nodepipe.execution.ray.worker import (
        NodeNotTaken,
        NodeRanOnWorker,
        NodeSlot,
        NodeStartedOnWorker,
    )

    lab.pipelines.new("pair")
    for tag, seconds in (("short", 0.2), ("long", 1.5)):
        lab.nodes.new("pair", tag)
        write_main(lab, tag, SPAN_OF.replace("__SECONDS__", str(seconds)))
    tasks = node_tasks(lab, "pair", monkeypatch)
    for tag in ("short", "long"):
        (lab.nodes.path(tag) / "reports" / "span").unlink()

    def again(tag: str, number: int) -> NodeTask:
        task: NodeTask = dataclasses.replace(tasks[tag], node_run_id=f"{tag}{number}")
        return task

    slot = NodeSlot.remote()
    try:
        ray.get(slot.cancel.remote("none"), timeout=60)  # the actor is up: calls go as sent
        long_offered = slot.run.remote(again("long", 1), "short1")
        time.sleep(0.05)  # served first
        short = ray.get(slot.run.remote(again("short", 1)), timeout=60)
        if isinstance(short, NodeStartedOnWorker):
            short = ray.get(slot.outcome.remote("short1"), timeout=60)
        answer = ray.get(long_offered, timeout=60)
        if isinstance(answer, NodeStartedOnWorker):
            answer = ray.get(slot.outcome.remote("long1"), timeout=60)
        if isinstance(short, NodeRanOnWorker):
            short = short.outcome
        assert short.status is RunOutcome.COMPLETED, short
        if not isinstance(answer, NodeNotTaken):
            assert span_of(lab, "short")[1] <= span_of(lab, "long")[0], "the offered went first"

        started = ray.get(slot.run.remote(again("long", 2)), timeout=60)
        assert isinstance(started, NodeStartedOnWorker)
        declined = ray.get(slot.run.remote(again("short", 2), "long2"), timeout=60)
        assert isinstance(declined, NodeNotTaken)
        folder = lab.nodes.path("short")
        assert not (folder / "logs" / "short2.log").exists()
        assert not list((folder / ".staging").glob("short2*"))
        outcome = ray.get(slot.outcome.remote("long2"), timeout=60)
        assert outcome.status is RunOutcome.COMPLETED, outcome
    finally:
        ray.kill(slot, no_restart=True)


@in_ray_namespace
def test_a_node_asking_for_the_whole_cluster_is_not_starved_by_offers_behind_it(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """--jobs 2 on two CPUs, roots in this order: two quick nodes, one asking for both CPUs,
    then 40 quick nodes. The big one waits for the CPUs the slots hold; offering the quick
    nodes behind it to a busy slot, one after another, would keep that slot (and its CPU) busy
    until they all ran. Most of them must run after it."""
    lab.pipelines.new("fan")
    lab.shared_envs.new("tools")
    quick = [f"q{index:02d}" for index in range(40)]
    tags = ["d1", "d2", "big", *quick]
    made = lab.nodes.new_many("fan", [f"x{i:02d}" for i in range(len(tags))], shared_env="tools")
    for node_id, tag in zip(sorted(node.id for node in made), tags, strict=True):
        lab.nodes.rename(node_id, tag, "fan")  # the plan gives roots out by id
        write_main(lab, tag, SPAN_OF.replace("__SECONDS__", "0.2" if tag == "big" else "0"))
    set_resources(lab.nodes.path("big"), "cpus = 2")
    request = RunRequest("fan", executor="ray", ray_address=ray_cluster.address, jobs=2, force=True)

    result = RunService(lab.context).run(request)

    assert result.finished is not None and result.finished.status == "completed"
    began = span_of(lab, "big")[0]
    ahead = [tag for tag in quick if span_of(lab, tag)[1] <= began]
    assert len(ahead) < len(quick) // 2, f"{len(ahead)} nodes behind 'big' ran before it"


GATED = """
import os, pathlib, time
(node.reports_dir() / "pid").write_text(str(os.getpid()))
while not pathlib.Path("__GATE__").exists():
    time.sleep(0.05)
"""


@in_ray_namespace
def test_a_slot_that_cannot_follow_the_node_it_launched_ends_it_and_frees_its_turn(
    lab: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failure injection (a slot in this process): right after launching a node, the slot
    cannot open a pidfd to wait on it (EMFILE, out of file descriptors). The error goes to the
    caller, but the node must not run on unwatched: its process is killed and reaped, its
    group no longer watched, its staging dropped, and the slot's next node runs."""
    from nodepipe.execution.ray import worker

    gate = tmp_path / "gate"
    gate.touch()
    lab.pipelines.new("pair")
    for tag in ("gated", "next"):
        lab.nodes.new("pair", tag)
    write_main(lab, "gated", GATED.replace("__GATE__", str(gate)))
    tasks = node_tasks(lab, "pair", monkeypatch)
    gate.unlink()
    (lab.nodes.path("gated") / "reports" / "pid").unlink()
    monkeypatch.setattr(worker, "_placement", lambda: "# nodepipe: a slot in this process\n")
    slot = worker._NodeSlot()
    real_pidfd_open = os.pidfd_open

    def out_of_descriptors(pid: int, flags: int = 0) -> int:
        if sys._getframe(1).f_code.co_name == "exited_within":
            monkeypatch.setattr(os, "pidfd_open", real_pidfd_open)  # once
            raise OSError(errno.EMFILE, "Too many open files")
        return real_pidfd_open(pid, flags)

    monkeypatch.setattr(os, "pidfd_open", out_of_descriptors)
    gated = dataclasses.replace(tasks["gated"], node_run_id="gated1")

    with pytest.raises(OSError, match="Too many open files"):
        slot.run(gated)

    pid_file = lab.nodes.path("gated") / "reports" / "pid"
    if pid_file.exists() and pid_file.read_text():
        assert not alive(int(pid_file.read_text())), "the node runs on, unwatched"
    assert not worker._WATCHDOG._groups, "its group is still watched"
    assert not list((lab.nodes.path("gated") / ".staging").glob("gated1*"))
    answers: list[object] = []
    following = dataclasses.replace(tasks["next"], node_run_id="n1")
    follower = threading.Thread(target=lambda: answers.append(slot.run(following)))
    follower.start()
    follower.join(timeout=30)
    assert answers, "the slot's next node waits for a turn never given back"
    answer = answers[0]
    if isinstance(answer, worker.NodeStartedOnWorker):
        answer = slot.outcome("n1")
    if isinstance(answer, worker.NodeRanOnWorker):
        answer = answer.outcome
    assert isinstance(answer, TaskOutcome) and answer.status is RunOutcome.COMPLETED, answer


@in_ray_namespace
def test_nodes_ray_cannot_start_for_want_of_cpus_are_said_to_wait(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """Other work holds both CPUs of the cluster: a node with the default resources (on a slot
    Ray cannot place) and one asking for both CPUs (a task) are each said to wait for Ray,
    with what they ask for, instead of nothing; once the CPUs are free, the run completes."""
    import ray

    from nodepipe.execution.ray.worker import NodeSlot

    hog = NodeSlot.options(num_cpus=CLUSTER_CPUS).remote()  # any actor the workers can import
    ray.get(hog.ready.remote(), timeout=60)
    lab.pipelines.new("pair")
    for tag in ("small", "big"):
        lab.nodes.new("pair", tag)
        write_main(lab, tag, f"(node.data_dir() / 'out.txt').write_text('{tag}')\n")
    set_resources(lab.nodes.path("big"), "cpus = 2")
    ids = {lab.nodes.get(tag).id: tag for tag in ("small", "big")}
    events: list[RunEvent] = []
    wait = run_in_background(lab, ray_cluster, "pair", [events.append])

    def said_waiting() -> dict[str, str]:
        return {
            ids[e.node_id]: e.step
            for e in list(events)
            if isinstance(e, NodePreparing) and e.step.startswith("waiting for Ray")
        }

    try:
        wait_for(lambda: len(said_waiting()) == 2, "both nodes to be said to wait", 60)
    finally:
        ray.kill(hog, no_restart=True)
    result = wait()

    assert said_waiting() == {
        "small": "waiting for Ray to start it (CPU=1)",
        "big": "waiting for Ray to start it (CPU=2)",
    }
    assert result.finished is not None and result.finished.status == "completed"


KEPT_CONNECTION_ORCHESTRATOR = CRASHING_ORCHESTRATOR.replace(
    "RunService(ws.context).run(",
    "import ray\nray.init(address=sys.argv[2], log_to_driver=False)\nRunService(ws.context).run(",
)


@in_ray_namespace
def test_a_dead_orchestrator_leaves_no_node_process_on_its_slots(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """A program that keeps its connection dies while the sleeper runs on a slot, after two
    nodes ran there: Ray ends the slot's worker, whose watchdog kills the node's whole group."""
    folder = orchestrator_dies_under_the_sleeper(lab, ray_cluster, KEPT_CONNECTION_ORCHESTRATOR)
    assert not (folder / "data" / "out.txt").exists()


@in_ray_namespace
def test_a_killed_slot_worker_fails_its_node_and_the_others_get_a_new_one(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """--jobs 1: the sleeper runs on a slot, another node waits for it. The slot's worker
    process is SIGKILLed while the sleeper runs: the sleeper's process group dies with it (the
    watchdog), its node run fails saying its worker died (never run again: Ray does not re-run
    a node), nothing reaches data/; the other node runs on a new worker, and so does the next
    run."""
    folder = sleepy_pipeline(lab)
    lab.nodes.new("sleepy", "other")
    write_main(lab, "other", "(node.data_dir() / 'out.txt').write_text('other')\n")
    request = RunRequest(
        "sleepy", executor="ray", ray_address=ray_cluster.address, jobs=1, force=True
    )
    first = RunService(lab.context).run(request)
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("sleeper", ["forever=true"])

    results: list[RunResult] = []
    events: list[RunEvent] = []
    runner = threading.Thread(
        target=lambda: results.append(RunService(lab.context).run(request, [events.append]))
    )
    runner.start()
    node_pid, child_pid = sleeper_pids(folder)
    # once the driver knows the sleeper is not quick, "other" is no longer offered to its slot
    # (a node offered to a slot that dies fails with it, like the slot's own node)
    sleeper = lab.nodes.get("sleeper").id

    def sleeper_started() -> bool:
        return any(isinstance(e, NodeStarted) and e.node_id == sleeper for e in events)

    wait_for(sleeper_started, "the driver to hear the sleeper started", 30)
    time.sleep(0.2)
    os.kill(worker_pid_of(folder), signal.SIGKILL)
    runner.join(timeout=180)

    (result,) = results
    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "failed"
    runs = node_runs(lab, result.run_id)
    assert runs["sleeper"].state is NodeRunState.FAILED
    assert runs["sleeper"].message.startswith("the Ray worker running the node died")
    last = (folder / "logs" / "latest.log").read_text().splitlines()[-1]
    assert last.startswith("# nodepipe: the Ray worker running the node died: "), last
    assert runs["after"].state is NodeRunState.SKIPPED
    assert runs["other"].state is NodeRunState.COMPLETED, runs["other"].message
    wait_for(lambda: not alive(node_pid) and not alive(child_pid), "the node to die", 30)
    assert (folder / "data" / "out.txt").read_text() == "first"
    write_main(lab, "sleeper", "(node.data_dir() / 'out.txt').write_text('again')\n")
    again = RunService(lab.context).run(request)
    assert again.finished is not None and again.finished.status == "completed"


LEAVER = """
import os, subprocess, sys
writer = "import time\\nwhile True:\\n    print('more', flush=True)\\n    time.sleep(0.02)"
grows = open(node.data_dir() / "grows.txt", "a")
child = subprocess.Popen([sys.executable, "-c", writer], stdout=grows)
(node.reports_dir() / "pids").write_text(f"{os.getpid()} {child.pid}")
"""


def leaves_no_writer_behind(lab: nodepipe.Workspace, cluster: RayCluster) -> None:
    """A node exits 0 leaving a child that writes into its outputs: on the Ray worker too, the
    child is ended before promotion, and ``data/`` stays as promoted."""
    lab.pipelines.new("leaver")
    lab.nodes.new("leaver", "leaver")
    write_main(lab, "leaver", LEAVER)
    result = run_on_ray(lab, cluster, "leaver")
    assert result.finished is not None and result.finished.status == "completed"
    folder = lab.nodes.path("leaver")
    _, child = sleeper_pids(folder, check_alive=False)
    try:
        assert not alive(child), "the node's child still runs after the run ended"
        grows = folder / "data" / "grows.txt"
        promoted = grows.read_bytes()
        time.sleep(0.3)  # the child wrote every 20 ms while it lived
        assert grows.read_bytes() == promoted
        assert "they were ended" in (folder / "logs" / "latest.log").read_text()
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


@in_ray_namespace
def test_processes_a_node_leaves_are_ended_on_its_ray_worker(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    leaves_no_writer_behind(lab, ray_cluster)


@in_ray_namespace
def test_processes_a_node_leaves_are_ended_on_its_slot(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    leaves_no_writer_behind(lab, ray_cluster)


BIG_OUTPUT = """
import os
with open(node.data_dir() / "big.bin", "wb") as big:
    big.truncate(3 * 1024**3)  # sparse, but digesting it reads 3 GiB: a second or more
(node.reports_dir() / "pids").write_text(f"{os.getpid()} 0")
"""


@in_ray_namespace
def test_a_worker_dying_while_it_digests_outputs_kills_no_process_that_took_the_nodes_id(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """On a Ray task, a node exits 0 with a large output; while its worker digests it, another
    process gets the node's pid (and so its process group id), and the worker is SIGKILLed.
    The worker's watchdog kills the groups of nodes still running there: the node's group must
    no longer be one of them (it was let go once the node was reaped), so the other process
    lives on."""
    lab.pipelines.new("big")
    lab.nodes.new("big", "big")
    folder = write_main(lab, "big", BIG_OUTPUT)
    wait = run_in_background(lab, ray_cluster, "big")
    node_pid, _ = sleeper_pids(folder, check_alive=False)
    wait_for(lambda: not alive(node_pid), "the node's process to end", 30)
    impostor = with_pid(node_pid, ["sleep", "300"])
    try:
        worker_line = next(
            line
            for line in (folder / "logs" / "latest.log").read_text().splitlines()
            if "Ray worker on" in line
        )
        os.kill(int(worker_line.split("(pid ", 1)[1].split(")", 1)[0]), signal.SIGKILL)
        result = wait()
        time.sleep(1)  # the watchdog acts as soon as the worker is gone

        assert impostor.poll() is None, "the watchdog killed a process that took the node's id"
        assert result.finished is not None and result.run_id is not None
        runs = node_runs(lab, result.run_id)
        assert runs["big"].state is NodeRunState.FAILED, runs["big"].message
    finally:
        impostor.kill()
        impostor.wait()


STUBBORN_LEAVER = """
import os, subprocess, time
child = subprocess.Popen(["bash", "-c", "trap '' TERM; sleep 300"])
time.sleep(0.5)  # the trap is set
(node.reports_dir() / "pids").write_text(f"{os.getpid()} {child.pid}")
"""


@in_ray_namespace
def test_a_slot_worker_dying_while_it_ends_what_a_node_left_leaves_nothing_running(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, kept_connection: None
) -> None:
    """The node ends well leaving a child that ignores SIGTERM, so the slot waits out the grace
    period before its SIGKILL; the slot's worker is SIGKILLed in that wait. The child must die
    with the worker (its watchdog still watches the group), not run on."""
    lab.pipelines.new("stubborn")
    lab.nodes.new("stubborn", "leaver")
    folder = lab.nodes.path("leaver")
    write_main(lab, "leaver", STUBBORN_LEAVER)
    wait = run_in_background(lab, ray_cluster, "stubborn")
    node_pid, child = sleeper_pids(folder, check_alive=False)
    try:
        wait_for(lambda: not alive(node_pid), "the node's own process to end", 30)
        assert alive(child)  # ignoring SIGTERM, within the grace period
        worker_line = next(
            line
            for line in (folder / "logs" / "latest.log").read_text().splitlines()
            if "Ray worker on" in line
        )
        os.kill(int(worker_line.split("(pid ", 1)[1].split(")", 1)[0]), signal.SIGKILL)
        wait()
        wait_for(lambda: not alive(child), "the node's child to die with its slot", 15)
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)
