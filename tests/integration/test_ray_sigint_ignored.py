"""Cancelling a node on a Ray cluster whose processes ignore SIGINT (started by a command that
ignores it: a script's background command, some service managers).

Ray stops a running task by raising KeyboardInterrupt in its worker (``ray.cancel``), which a
process that ignores SIGINT never sees: the node must still be stopped, its whole group gone.
Its own module: the cluster is started differently from the other Ray tests' (see
``support.ray_cluster``; every test here runs inside private namespaces).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.domain.runs import NodeRunState
from nodepipe.execution.process_groups import group_members
from nodepipe.services.runs.service import RunRequest, RunResult, RunService
from support.ray_cluster import (
    NamespaceResults,
    RayCluster,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.waiting import wait_for
from support.worlds import STUBBORN_CHILD_OF_A_SHORT_NODE, node_runs, write_main


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture(scope="module")
def deaf_cluster() -> Iterator[RayCluster]:
    """Inside the namespace: a one-CPU Ray head node whose processes ignore SIGINT."""
    with RayCluster(num_cpus=1, sigint_ignored=True) as cluster:
        yield cluster


@in_ray_namespace
def test_kill_stops_a_node_on_workers_that_ignore_sigint(
    lab: nodepipe.Workspace, deaf_cluster: RayCluster
) -> None:
    """`nodepipe kill` of a node running as a Ray task there: the run returns once the node's
    whole group has ended (its child ignores SIGTERM), the node run is cancelled, not ended by
    itself, and its half-written output never lands."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "stubborn")
    folder = write_main(lab, "stubborn", STUBBORN_CHILD_OF_A_SHORT_NODE)
    results: list[RunResult] = []
    request = RunRequest("p", executor="ray", ray_address=deaf_cluster.address)
    runner = threading.Thread(
        target=lambda: results.append(RunService(lab.context).run(request)), daemon=True
    )
    runner.start()
    pids = folder / "reports" / "pids"
    wait_for(pids.exists, "the node to start", 120)
    node_pid = int(pids.read_text().split()[0])
    try:
        RunService(lab.context).kill(["stubborn"])
        runner.join(timeout=120)

        assert not runner.is_alive(), "the run did not end"
        (result,) = results
        assert result.finished is not None and result.finished.status == "cancelled"
        assert group_members(node_pid) == [], "a process of the node outlived the run"
        assert result.run_id is not None
        assert node_runs(lab, result.run_id)["stubborn"].state is NodeRunState.CANCELLED
        log = (folder / "logs" / "latest.log").read_text()
        assert "exited with code" not in log, log
        assert not (folder / "data" / "out.txt").exists()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node_pid, signal.SIGKILL)  # the node's group, its child included
