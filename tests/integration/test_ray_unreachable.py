"""A Ray address where no cluster answers: the run is refused at once, in nodepipe's words, with
nothing claimed.

Ray's own connect to such an address retries for many minutes (about 40 s a round), printing
only its own warnings. No cluster is started here, and a refused address imports no Ray; the
tests still run inside the private namespaces of ``support.ray_cluster`` (``@in_ray_namespace``)
so that code that does let ``ray.init`` connect (the code before the check) reaches nothing
beyond loopback. The command and the Python program run as real processes, the web app's
request in a thread, each with a timeout: code that hangs fails the test instead of holding it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import snapshot
from nodepipe.cli.fork_client import SWITCH_ENV
from support.ray_cluster import (
    NamespaceResults,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.worlds import CHAIN, build_pipeline

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
BAD_INPUT = 2
"""The CLI's exit code of bad input (``cli.errors``), an address where no cluster answers too."""
FAST = 15.0
"""Seconds within which a refusal must come, the CLI's start included (a loaded machine)."""
HUNG = 60.0
"""Seconds after which a command is taken to hang (Ray's connect: many minutes)."""

API_PROGRAM = """
import json, sys, time
import nodepipe
from nodepipe.services.runs.service import RunRequest
ws = nodepipe.open(sys.argv[1])
began = time.monotonic()
try:
    ws.runs.run(RunRequest("baseline", ["clean", "plot"], force=True, jobs=2, executor="ray",
                           ray_address=sys.argv[2]))
except Exception as error:
    said = {"type": type(error).__name__, "message": str(error),
            "nodepipe": isinstance(error, nodepipe.NodepipeError),
            "notes": getattr(error, "__notes__", [])}
else:
    said = {"type": None}
said["seconds"] = time.monotonic() - began
print(json.dumps(said))
"""


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture
def baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[nodepipe.Workspace]:
    """Pipeline ``baseline`` (load → clean → plot), its first node marked completed by hand."""
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(tmp_path / "lab")
    build_pipeline(ws, "baseline", CHAIN)
    ws.nodes.mark("load", nodepipe.NodeState.COMPLETED)
    yield ws
    ws.close()


def free_port() -> int:
    """A loopback port nothing listens on: a Ray cluster that is not there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nodepipe_run(ws: nodepipe.Workspace, address: str) -> subprocess.Popen[str]:
    """``nodepipe run baseline --executor ray --ray-address ADDRESS``, as a user types it."""
    argv = ["-w", str(ws.root), "run", "baseline", "--executor", "ray", "--ray-address", address]
    return subprocess.Popen(
        [NODEPIPE, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, SWITCH_ENV: "0"},
    )


def ended(command: subprocess.Popen[str], within: float) -> tuple[int, str]:
    """The command's exit code and what it said on stderr, once it ends within ``within`` s."""
    try:
        _, err = command.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        command.kill()
        _, err = command.communicate()
        pytest.fail(f"the command still ran after {within:g} s:\n{err[-3000:]}")
    return command.returncode, " ".join(err.split())


def python_api_run(ws: nodepipe.Workspace, address: str) -> str:
    """What a Python program running ``baseline`` on ``address`` prints (``API_PROGRAM``)."""
    program = subprocess.run(
        [sys.executable, "-c", API_PROGRAM, str(ws.root), address],
        capture_output=True,
        text=True,
        timeout=HUNG,
        check=False,
    )
    assert program.returncode == 0, program.stderr[-3000:]
    return program.stdout


def no_run_recorded(ws: nodepipe.Workspace) -> None:
    with ws.context.store.read() as session:
        assert session.list_runs() == [], "a run was claimed for an address that cannot work"


@in_ray_namespace
def test_the_cli_refuses_at_once_an_address_where_nothing_listens(
    baseline: nodepipe.Workspace,
) -> None:
    before = snapshot(baseline)
    address = f"127.0.0.1:{free_port()}"

    began = time.monotonic()
    code, said = ended(nodepipe_run(baseline, address), HUNG)

    assert time.monotonic() - began < FAST
    assert code == BAD_INPUT, said
    assert f"cannot connect to the Ray cluster at {address}: no Ray cluster answers there" in said
    assert "connection refused" in said
    assert "`ray start --head` (or check the address)" in said  # what to do, as commands
    typed = f"nodepipe -w {baseline.root} run baseline"  # the command as typed, its options
    assert f"`{typed} --executor ray --ray-address HOST:PORT`" in said
    assert f"run with the local executor: `{typed}`" in said
    no_run_recorded(baseline)
    assert snapshot(baseline) == before  # load still completed, clean and plot still ready


@in_ray_namespace
def test_the_python_api_refuses_it_with_a_nodepipe_error(baseline: nodepipe.Workspace) -> None:
    before = snapshot(baseline)
    address = f"127.0.0.1:{free_port()}"

    said = json.loads(python_api_run(baseline, address))

    assert said["nodepipe"] and said["type"] == "InvalidInputError", said
    assert said["message"].startswith(
        f"cannot connect to the Ray cluster at {address}: no Ray cluster answers there"
    )
    assert said["seconds"] < FAST
    # What to do, as the calls to make: the run the user asked for, its options repeated.
    asked = "RunRequest('baseline', only=['clean', 'plot'], force=True, jobs=2"
    assert said["notes"] == [
        "start one with `ray start --head` (or check the address) and give its address with "
        f"{asked}, executor='ray', ray_address='HOST:PORT'), leave ray_address out to start a "
        f"local Ray, or run with the local executor: {asked})"
    ]
    no_run_recorded(baseline)
    assert snapshot(baseline) == before


@in_ray_namespace
def test_a_host_that_does_not_answer_is_refused_after_a_few_seconds(
    baseline: nodepipe.Workspace,
) -> None:
    """A listener whose queue of connections is full drops every new one without an answer,
    as a host behind a firewall that drops packets does."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        address = f"127.0.0.1:{full.getsockname()[1]}"
        with socket.create_connection(full.getsockname(), timeout=5):  # fills the queue
            said = json.loads(python_api_run(baseline, address))

    assert said["type"] == "InvalidInputError", said
    assert said["message"].startswith(
        f"cannot connect to the Ray cluster at {address}: no Ray cluster answers there (its "
        "host did not answer within 5 s)"
    )
    assert said["seconds"] < FAST
    no_run_recorded(baseline)


@in_ray_namespace
def test_the_web_app_refuses_it_in_its_own_words(baseline: nodepipe.Workspace) -> None:
    from api.conftest import LOOPBACK, authorized
    from nodepipe.api import create_app

    address = f"127.0.0.1:{free_port()}"
    answers: list[tuple[int, dict[str, object]]] = []

    def post() -> None:
        with authorized(create_app(baseline, LOOPBACK)) as client:
            body = {"executor": "ray", "ray_address": address}
            response = client.post("/api/pipelines/baseline/runs", json=body)
            answers.append((response.status_code, response.json()))

    asking = threading.Thread(target=post, daemon=True)
    asking.start()
    asking.join(HUNG)

    assert answers, "the web app did not answer"
    [(status, body)] = answers
    assert status == 422, body
    assert str(body["message"]).startswith(
        f"cannot connect to the Ray cluster at {address}: no Ray cluster answers there"
    )
    assert body["hint"] == {  # the options of the run asked for, for the web app to offer
        "action": "ray.connect",
        "params": {"pipeline": "baseline", "executor": "ray", "ray_address": address},
    }
    no_run_recorded(baseline)
