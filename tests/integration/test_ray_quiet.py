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
import threading
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
    lab: nodepipe.Workspace, ray_cluster: RayCluster, tmp_path: Path
) -> None:
    """The node SIGKILLs its Ray worker: `nodepipe run --json` exits 8 with only JSON lines on
    stdout and nothing of Ray's on stderr but, once, where its messages went (if the first came
    before the command ended); the node's error (and its log's last line) say the worker died
    and name the file where Ray's own message about it went.

    The node kills its worker only once the command has said it started: a node that does so
    at once may beat its start on the way to the driver (the worker reports it while the node
    runs), and the error then says the worker the node "was given to" died, not the one
    "running the node" (it happened in CI, under load)."""
    go = tmp_path / "go"
    lab.pipelines.new("doomed")
    lab.nodes.new("doomed", "killer")
    folder = write_main(
        lab,
        "killer",
        f"""
        import os, signal, time
        from pathlib import Path
        deadline = time.monotonic() + 120
        while not Path({str(go)!r}).exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # until the command has said this node started
        os.kill(os.getppid(), signal.SIGKILL)  # the Ray worker running this node
        time.sleep(60)
        """,
    )
    argv = [NODEPIPE, "run", "doomed", "--executor", "ray", "--ray-address", ray_cluster.address]

    with (tmp_path / "stderr").open("w+") as stderr:
        command = subprocess.Popen(
            [*argv, "--json"], cwd=lab.root, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        timer = threading.Timer(300, command.kill)  # a hang fails the test, not the session
        timer.start()
        try:
            assert command.stdout is not None
            lines: list[str] = []
            for line in command.stdout:
                lines.append(line)
                if json.loads(line)["type"] == "node_started":
                    go.touch()
            returncode = command.wait()
        finally:
            timer.cancel()
            if command.poll() is None:  # the test failed on the way: the command goes too
                command.kill()
                command.wait()
        stderr.seek(0)
        err = stderr.read()

    assert returncode == WORKER_KILLED, (lines, err)
    events = [json.loads(line) for line in lines]  # nothing else there
    assert go.exists(), events  # the command said the node started
    (finished,) = [e for e in events if e["type"] == "node_finished"]
    message = finished["outcome"]["message"]
    assert message.startswith("the Ray worker running the node died: "), message
    said = "A worker died or was killed while executing a task"
    assert "(raylet)" not in err and said not in err, err
    found = re.search(r"\(Ray's messages: (/\S+\.log)\)$", message)
    assert found is not None, message
    kept = Path(found.group(1))
    wait_for(lambda: said in kept.read_text(), "Ray's message in the file", 30)
    pointer = f"nodepipe: the Ray cluster sent messages; they are in {kept}"
    assert err.count(str(kept)) == err.count(pointer) <= 1, err
    last = (folder / "logs" / "latest.log").read_text().splitlines()[-1]
    assert last == f"# nodepipe: {message}", last
