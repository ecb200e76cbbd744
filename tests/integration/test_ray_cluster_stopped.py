"""The Ray cluster stopped (``ray stop``) while a ``nodepipe run`` has a node on it.

Its own module: stopping a cluster stops every Ray process in the namespace, so the test starts
and stops its own (see ``support.ray_cluster``; every test here runs inside private
namespaces).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from nodepipe.domain.runs import NodeRunState
from nodepipe.execution.process_groups import group_members
from nodepipe.services.runs.service import RunRequest, RunService
from support.ray_cluster import (
    NamespaceResults,
    RayCluster,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.waiting import wait_for
from support.worlds import write_main

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


SLEEPER = """
import os, time
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
def test_a_cluster_stopped_mid_run_fails_the_node_saying_its_worker_died(
    lab: nodepipe.Workspace,
) -> None:
    """`ray stop` while the sleeper runs: `nodepipe run` ends at once (exit 8) saying the
    sleeper's Ray worker died, in nodepipe's words, not Ray's exception's name as if nodepipe
    could not run it; the node run failed with that reason, its log ends with it, its process is
    gone, its old outputs stay, and the node below is skipped. Ray's own account stays off the
    command's output, in the file the error names."""
    lab.pipelines.new("sleepy")
    lab.nodes.new("sleepy", "sleeper")
    lab.nodes.new("sleepy", "after")
    lab.edges.connect("sleeper", "after", "sleepy")
    write_main(lab, "after", "(node.data_dir() / 'seen.txt').write_text('ran')\n")
    folder = write_main(lab, "sleeper", SLEEPER)
    cluster = RayCluster(num_cpus=2)
    cluster.start()
    try:
        request = RunRequest("sleepy", executor="ray", ray_address=cluster.address)
        first = RunService(lab.context).run(request)
        assert first.finished is not None and first.finished.status == "completed"
        lab.nodes.set_params("sleeper", ["forever=true"])
        run = subprocess.Popen(
            [NODEPIPE, "run", "sleepy", "--executor", "ray", "--ray-address", cluster.address],
            cwd=lab.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        pid_file = folder / "reports" / "pid"
        wait_for(pid_file.exists, "the sleeper's process to start", 120)
        node_pid = int(pid_file.read_text())

        cluster.stop()
        output, _ = run.communicate(timeout=120)
    finally:
        cluster.stop()

    assert run.returncode == 8, output
    said = "the Ray worker running the node died: "
    assert f"sleeper error: {said}" in output, output
    # Ray's own dump ("(raylet) Raylet is terminated. … Last 20 lines of the Raylet logs: …",
    # printed on the driver's stdout) is not nodepipe's output: it went to the file named.
    assert "(raylet)" not in output and "Raylet is terminated" not in output, output
    assert "(Ray's messages: " in output, output
    (history,) = lab.runs.node_history("sleeper", "sleepy")[:1]
    assert history.state is NodeRunState.FAILED
    assert history.message.startswith(said), history.message
    (after,) = lab.runs.node_history("after", "sleepy")[:1]
    assert after.message == "upstream sleeper failed"
    last = (folder / "logs" / "latest.log").read_text().splitlines()[-1]
    assert last.startswith(f"# nodepipe: {said}"), last
    wait_for(lambda: group_members(node_pid) == [], "the node's processes to end", 30)
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert lab.nodes.get("sleeper").state is nodepipe.NodeState.FAILED
