"""A node killed on a Ray worker around its start, before the driver heard of it.

Ray drops what a cancelled task yielded that the driver had not read: a node whose process had
started on its worker, killed before the driver heard of the start (under load, the driver's
thread behind, or the worker's report still on its way), was recorded "cancelled before it
started", with no pid, though its log said "killed on request". Here the workers wait 4 s
after a task's log says where it runs, and report every node's start 4 s late (on a slot too),
with ``NODEPIPE_PAUSE_AT`` in the cluster's environment, so that a kill lands in either window
every time. Its own module: the cluster is started differently from the other Ray tests' (see
``support.ray_cluster``; every test here runs inside private namespaces).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.domain.events import NodeFinished, NodeSkipped, NodeStarted, NodeSubmitted, RunEvent
from nodepipe.domain.runs import NodeRunState, RunOutcome
from nodepipe.execution.process_groups import group_members
from nodepipe.services.runs.service import RunRequest, RunResult, RunService
from nodepipe.workspace.crash_points import PAUSE_ENV
from support.ray_cluster import (
    NamespaceResults,
    RayCluster,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.waiting import wait_for
from support.worlds import node_runs, write_main

LATE_SECONDS = 4


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture(scope="module")
def late_cluster() -> Iterator[RayCluster]:
    """Inside the namespace: a Ray head node whose workers wait ``LATE_SECONDS`` once a
    task's log names them, and report each node's start ``LATE_SECONDS`` after its process
    started."""
    os.environ[PAUSE_ENV] = f"ray.placed:{LATE_SECONDS},task.launched:{LATE_SECONDS}"
    try:
        cluster = RayCluster(num_cpus=2)
        cluster.start()
    finally:
        del os.environ[PAUSE_ENV]  # this process (the driver) launches nothing late
    try:
        yield cluster
    finally:
        cluster.stop()


SLEEPER = """
import os, signal, time
if not node.params().get("forever"):
    (node.data_dir() / "out.txt").write_text("first")
    raise SystemExit(0)
(node.data_dir() / "out.txt").write_text("half-written")
(node.reports_dir() / "pid.tmp").write_text(str(os.getpid()))
(node.reports_dir() / "pid.tmp").rename(node.reports_dir() / "pid")
while True:
    time.sleep(1)
"""


@in_ray_namespace
def test_a_node_killed_before_the_driver_heard_it_start_is_recorded_killed(
    lab: nodepipe.Workspace, late_cluster: RayCluster
) -> None:
    """sleeper → after; the sleeper's process runs on its worker, the driver has not heard of
    its start, and it is killed: its run is recorded cancelled ("killed", with its pid), not
    skipped as "cancelled before it started"; its log says so, its old outputs stay, the node
    below is skipped, and the node is cancelled."""
    lab.pipelines.new("sleepy")
    lab.nodes.new("sleepy", "sleeper")
    lab.nodes.new("sleepy", "after")
    lab.edges.connect("sleeper", "after", "sleepy")
    write_main(lab, "after", "(node.data_dir() / 'seen.txt').write_text('ran')\n")
    folder = write_main(lab, "sleeper", SLEEPER)
    request = RunRequest("sleepy", executor="ray", ray_address=late_cluster.address)
    first = RunService(lab.context).run(request)
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("sleeper", ["forever=true"])
    events: list[RunEvent] = []
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(RunService(lab.context).run(request, [events.append])),
        daemon=True,
    )
    pid_file = folder / "reports" / "pid"
    runner.start()
    wait_for(pid_file.exists, "the sleeper's process to start", 120)
    node_pid = int(pid_file.read_text())
    RunService(lab.context).kill(["sleeper"])  # before its worker reports it started
    runner.join(timeout=120)

    assert not runner.is_alive(), "the run did not end"
    (result,) = results
    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "cancelled"
    (ended,) = [e for e in events if isinstance(e, NodeFinished)]
    assert ended.outcome.status is RunOutcome.CANCELLED, ended
    assert ended.outcome.message == "killed"
    skipped = {e.node_id: e.reason for e in events if isinstance(e, NodeSkipped)}
    assert skipped == {lab.nodes.get("after").id: "upstream sleeper was cancelled"}
    runs = node_runs(lab, result.run_id)
    assert runs["sleeper"].state is NodeRunState.CANCELLED
    assert runs["sleeper"].pid == node_pid
    assert runs["after"].state is NodeRunState.SKIPPED
    assert runs["after"].message == "upstream sleeper was cancelled"
    assert group_members(node_pid) == []
    log = (folder / "logs" / "latest.log").read_text()
    assert "killed on request" in log, log
    assert "cancelled before it started" not in log, log
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert lab.nodes.get("sleeper").state is nodepipe.NodeState.CANCELLED


@in_ray_namespace
def test_a_node_killed_on_its_worker_before_it_starts_is_skipped_and_keeps_its_state(
    lab: nodepipe.Workspace, late_cluster: RayCluster
) -> None:
    """The kill reaches the task once its worker has it (the log names the worker) but before
    the node's process starts: the run ends (the worker did not wait for ever for a node it
    had not started), the node never starts, it is skipped as "cancelled before it started"
    and keeps its state and outputs."""
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "only")
    folder = write_main(lab, "only", SLEEPER)
    request = RunRequest("solo", executor="ray", ray_address=late_cluster.address)
    first = RunService(lab.context).run(request)
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("only", ["forever=true"])
    events: list[RunEvent] = []
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(RunService(lab.context).run(request, [events.append])),
        daemon=True,
    )
    runner.start()

    def placed() -> bool:
        logs = [Path(e.log_file) for e in events if isinstance(e, NodeSubmitted)]
        return bool(logs) and logs[0].is_file() and "Ray worker on" in logs[0].read_text()

    wait_for(placed, "the worker to take the node", 120)
    RunService(lab.context).kill(["only"])
    runner.join(timeout=120)

    assert not runner.is_alive(), "the run did not end"
    (result,) = results
    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "cancelled"
    assert not [e for e in events if isinstance(e, NodeStarted | NodeFinished)]
    run = node_runs(lab, result.run_id)["only"]
    assert run.state is NodeRunState.SKIPPED
    assert run.message == "cancelled before it started"
    assert not (folder / "reports" / "pid").exists()
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert lab.nodes.get("only").state is nodepipe.NodeState.STALE  # as before: forever added


@pytest.fixture
def kept_connection(late_cluster: RayCluster) -> Iterator[None]:
    """This process connects to the cluster itself: its runs put nodes on warm slot actors."""
    import ray

    ray.init(address=late_cluster.address, log_to_driver=False, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@in_ray_namespace
def test_a_node_killed_on_a_slot_whose_worker_dies_before_answering_is_recorded_killed(
    lab: nodepipe.Workspace, late_cluster: RayCluster, kept_connection: None
) -> None:
    """On a slot: the node's process runs, the kill ends it, and the slot's worker is
    SIGKILLed before its answer (that the node started) reached the driver. The node may have
    started, so it is recorded cancelled, saying its worker died meanwhile, not skipped as
    "cancelled before it started"; its old outputs stay."""
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "only")
    folder = write_main(lab, "only", SLEEPER)
    request = RunRequest("solo", executor="ray", ray_address=late_cluster.address)
    first = RunService(lab.context).run(request)
    assert first.finished is not None and first.finished.status == "completed"
    lab.nodes.set_params("only", ["forever=true"])
    events: list[RunEvent] = []
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(RunService(lab.context).run(request, [events.append])),
        daemon=True,
    )
    pid_file = folder / "reports" / "pid"
    runner.start()
    wait_for(pid_file.exists, "the node's process to start", 120)
    node_pid = int(pid_file.read_text())
    log = (folder / "logs" / "latest.log").read_text()
    line = next(line for line in log.splitlines() if "Ray worker on" in line)
    worker_pid = int(line.split("(pid ", 1)[1].split(")", 1)[0])

    RunService(lab.context).kill(["only"])
    wait_for(lambda: not alive(node_pid), "the kill to end the node", LATE_SECONDS)
    os.kill(worker_pid, signal.SIGKILL)  # before the slot answers that the node started
    runner.join(timeout=120)

    assert not runner.is_alive(), "the run did not end"
    (result,) = results
    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "cancelled"
    (ended,) = [e for e in events if isinstance(e, NodeFinished)]
    assert ended.outcome.status is RunOutcome.CANCELLED
    said = "killed; the Ray worker it was given to died meanwhile: "
    assert ended.outcome.message.startswith(said), ended.outcome.message
    assert node_runs(lab, result.run_id)["only"].state is NodeRunState.CANCELLED
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert lab.nodes.get("only").state is nodepipe.NodeState.CANCELLED
