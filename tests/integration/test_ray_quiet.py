"""Ray's messages to the driver stay off nodepipe's output, in a file the error names.

Ray's driver prints what the cluster pushes to it (here: "A worker died or was killed while
executing a task…") on stdout, prefixed ``(raylet)``, whatever ``log_to_driver`` says; in
``nodepipe run --json`` that broke the JSON lines a script reads. Inside private namespaces
(``support.ray_cluster``), a node kills its own Ray worker; the command's output must be
nodepipe's alone, and Ray's account must be in the file the node's error names.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
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
WORKER_KILLED = 8
"""The CLI's exit code of a run whose node failed (``cli.errors``)."""


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    with RayCluster(num_cpus=2) as cluster:
        yield cluster


@in_ray_namespace
def test_a_worker_that_dies_leaves_ray_s_words_in_a_file_not_on_the_output(
    lab: nodepipe.Workspace, ray_cluster: RayCluster
) -> None:
    """The node SIGKILLs its Ray worker: `nodepipe run --json` exits 8 with only JSON lines on
    stdout and nothing of Ray's on stderr but, once, where its messages went (if the first came
    before the command ended); the node's error (and its log's last line) say the worker died
    and name the file where Ray's own message about it went."""
    lab.pipelines.new("doomed")
    lab.nodes.new("doomed", "killer")
    folder = write_main(
        lab,
        "killer",
        """
        import os, signal, time
        os.kill(os.getppid(), signal.SIGKILL)  # the Ray worker running this node
        time.sleep(60)
        """,
    )
    argv = [NODEPIPE, "run", "doomed", "--executor", "ray", "--ray-address", ray_cluster.address]

    run = subprocess.run(
        [*argv, "--json"], cwd=lab.root, capture_output=True, text=True, timeout=300, check=False
    )

    assert run.returncode == WORKER_KILLED, (run.stdout, run.stderr)
    events = [json.loads(line) for line in run.stdout.splitlines()]  # nothing else there
    (finished,) = [e for e in events if e["type"] == "node_finished"]
    message = finished["outcome"]["message"]
    assert message.startswith("the Ray worker running the node died: "), message
    said = "A worker died or was killed while executing a task"
    assert "(raylet)" not in run.stderr and said not in run.stderr, run.stderr
    found = re.search(r"\(Ray's messages: (/\S+\.log)\)$", message)
    assert found is not None, message
    kept = Path(found.group(1))
    wait_for(lambda: said in kept.read_text(), "Ray's message in the file", 30)
    pointer = f"nodepipe: the Ray cluster sent messages; they are in {kept}"
    assert run.stderr.count(str(kept)) == run.stderr.count(pointer) <= 1, run.stderr
    last = (folder / "logs" / "latest.log").read_text().splitlines()[-1]
    assert last == f"# nodepipe: {message}", last
