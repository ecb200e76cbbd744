"""The event stream and the live log over a real server: what the web app listens to."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

import nodepipe
from api.conftest import ids
from api.coroutines import run_coroutine
from api.live import LiveServer, server_thread
from nodepipe.domain.events import NodeFinished, RunFinished, RunStarted
from nodepipe.live.events import EventHub, HubEvent
from nodepipe.live.external_runs import ExternalRunWatcher
from support.waiting import wait_for

SLOW = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.5)\n"
"""Runs 1.5 s: longer than the watcher's 1 s look at the store, so it is always seen running."""


def events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON data of each server-sent event."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


@contextmanager
def collected(live: LiveServer, until: str) -> Iterator[list[dict[str, Any]]]:
    """The events of ``live``'s event stream, read by a thread until one of type ``until``:
    the block runs while it listens; then the stream has at most 60 s to send that event."""
    found: list[dict[str, Any]] = []
    ready = threading.Event()
    reader = threading.Thread(target=collect, args=(live, until, found, ready), daemon=True)
    reader.start()
    assert ready.wait(10), "the event stream did not open"
    yield found
    reader.join(60)
    assert not reader.is_alive(), f"no {until} event within 60 s; the stream sent {found}"


def collect(
    live: LiveServer, until: str, found: list[dict[str, Any]], ready: threading.Event
) -> None:
    url = f"{live.url}/api/events"
    with httpx.stream("GET", url, headers=live.headers, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        ready.set()
        for event in events(response):
            found.append(event)
            if event["type"] == until:
                return


def kinds_of(found: list[dict[str, Any]], kind: str) -> set[str]:
    """The nodes of the ``kind`` events (``node_started``, ``node_skipped``...)."""
    return {e["node_id"] for e in found if e["type"] == kind}


def states_of(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(node id, state) of each node that finished: the state its outcome left it in."""
    return {(e["node_id"], e["state"]) for e in found if e["type"] == "node_finished"}


def test_a_run_is_told_live_on_the_event_stream(chain: nodepipe.Workspace) -> None:
    node_ids = ids(chain)
    with server_thread(chain) as live, collected(live, "run_finished") as found:
        launched = httpx.post(
            f"{live.url}/api/pipelines/baseline/runs",
            json={},
            headers={**live.headers, "X-Nodepipe-Client": "me"},
        ).json()
    kinds = [e["type"] for e in found]
    assert kinds[0] in ("run_started", "graph_changed") and kinds[-1] == "run_finished"
    started = next(e for e in found if e["type"] == "run_started")
    assert started["run_id"] == launched["run_id"]
    assert set(started["node_ids"]) == set(node_ids.values())
    assert kinds_of(found, "node_started") == set(node_ids.values())
    assert states_of(found) == {(i, "completed") for i in node_ids.values()}
    assert found[-1]["completed"] == 3 and found[-1]["status"] == "completed"
    changed = [e for e in found if e["type"] == "graph_changed"]
    assert changed and changed[0]["origin"] == "me"


def test_changes_and_jobs_are_announced(chain: nodepipe.Workspace) -> None:
    with server_thread(chain) as live, collected(live, "job_finished") as found:
        httpx.patch(
            f"{live.url}/api/pipelines/baseline/nodes/load",
            headers=live.headers,
            json={"notes": "n"},
        )
        refused = httpx.post(f"{live.url}/api/projects", headers=live.headers, json={"name": "a/b"})
        assert refused.status_code == 422
        job = httpx.post(
            f"{live.url}/api/pipelines/baseline/copies",
            headers=live.headers,
            json={"tag": "copy"},
        ).json()
    assert next(e["action"] for e in found if e["type"] == "graph_changed").startswith("PATCH")
    assert not any("projects" in e.get("action", "") for e in found)
    assert found[-1] == {"type": "job_finished", "job_id": job["id"]}


def test_the_live_log_streams_while_the_node_runs(chain: nodepipe.Workspace) -> None:
    (chain.nodes.path("load") / "code" / "main.py").write_text(SLOW)
    with server_thread(chain) as live:
        httpx.post(
            f"{live.url}/api/pipelines/baseline/runs", headers=live.headers, json={"only": ["load"]}
        )
        chunks: list[dict[str, Any]] = []
        stream_url = f"{live.url}/api/pipelines/baseline/nodes/load/log/stream"
        status_url = f"{live.url}/api/pipelines/baseline/status"

        def running() -> bool:
            status = httpx.get(status_url, headers=live.headers).json()
            return any(n["state"] == "running" for n in status["nodes"])

        wait_for(running, "load to be running")
        with httpx.stream("GET", stream_url, headers=live.headers, timeout=60) as response:
            chunks.extend(events(response))
    text = "".join(c["text"] for c in chunks if c["type"] == "chunk")
    assert "tick 0" in text and "tick 2" in text
    assert chunks[-1] == {"type": "end", "state": "completed"}


def test_the_log_stream_of_a_finished_run_sends_it_whole_and_ends(
    chain: nodepipe.Workspace,
) -> None:
    from nodepipe.services.runs.service import RunRequest

    chain.runs.run(RunRequest("baseline", only=["load"]))
    with server_thread(chain) as live:
        stream_url = f"{live.url}/api/pipelines/baseline/nodes/load/log/stream"
        with httpx.stream("GET", stream_url, headers=live.headers, timeout=30) as response:
            chunks = list(events(response))
        missing = httpx.get(
            f"{live.url}/api/pipelines/baseline/nodes/plot/log/stream", headers=live.headers
        )
    assert "wrote" in chunks[0]["text"] and chunks[-1] == {"type": "end", "state": "completed"}
    assert missing.status_code == 404 and missing.json()["kind"] == "not_found"


def test_a_run_started_from_the_cli_is_told_too(chain: nodepipe.Workspace) -> None:
    node_ids = ids(chain)
    (chain.nodes.path("load") / "code" / "main.py").write_text(SLOW)
    cli = Path(sys.executable).parent / "nodepipe"
    with server_thread(chain) as live, collected(live, "run_finished") as found:
        subprocess.run([cli, "-w", str(chain.root), "run", "baseline"], check=True, timeout=120)
    assert found and found[-1]["type"] == "run_finished", found
    assert found[-1]["status"] == "completed"
    assert node_ids["load"] in kinds_of(found, "node_started")
    assert states_of(found) == {(i, "completed") for i in node_ids.values()}


def test_a_cli_run_that_ends_between_two_looks_of_the_watcher_is_told_whole(
    chain: nodepipe.Workspace,
) -> None:
    """A quick ``nodepipe run`` can start and end between two of the watcher's looks at the store
    (one a second): no look sees it running, yet the next one tells it, once, from start to
    finish; otherwise a page open meanwhile would show its nodes as before the run."""
    node_ids = ids(chain)
    cli = Path(sys.executable).parent / "nodepipe"

    async def told() -> list[HubEvent]:
        hub = EventHub()
        subscription = hub.subscribe()
        watcher = ExternalRunWatcher(chain.context, hub)  # not started: it looks when told here
        await asyncio.to_thread(watcher.check)  # before the run
        command = [cli, "-w", str(chain.root), "run", "baseline"]
        await asyncio.to_thread(subprocess.run, command, check=True, timeout=120)
        await asyncio.to_thread(watcher.check)  # the first look since: the run has ended
        await asyncio.to_thread(watcher.check)  # a later one tells it no more
        found: list[HubEvent] = []
        while (event := await subscription.get(timeout=1)) is not None:
            found.append(event)
        return found

    found = run_coroutine(told())
    assert [type(e) for e in found] == [
        RunStarted,
        NodeFinished,
        NodeFinished,
        NodeFinished,
        RunFinished,
    ]
    started, finished = found[0], found[-1]
    assert isinstance(started, RunStarted) and set(started.node_ids) == set(node_ids.values())
    assert {(e.node_id, e.state.value) for e in found if isinstance(e, NodeFinished)} == {
        (i, "completed") for i in node_ids.values()
    }
    assert isinstance(finished, RunFinished) and finished.status.value == "completed"
    assert finished.completed == 3 and finished.run_id == started.run_id


def test_a_quick_run_and_the_next_one_first_seen_in_one_look_are_told_in_order(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A quick run ended and the next run on the same nodes already going, both new to one
    look of the watcher: the ended one is told first, whole, then the one going (told the other
    way round, a page showed the older run's end over the newer run's node)."""
    cli = Path(sys.executable).parent / "nodepipe"
    gate, started = tmp_path / "gate", chain.nodes.path("load") / "reports" / "started"
    main = chain.nodes.path("load") / "code" / "main.py"
    command = [str(cli), "-w", str(chain.root), "run", "baseline", "--force"]

    async def told() -> list[HubEvent]:
        hub = EventHub()
        subscription = hub.subscribe()
        watcher = ExternalRunWatcher(chain.context, hub)  # not started: it looks when told here
        await asyncio.to_thread(watcher.check)
        await asyncio.to_thread(subprocess.run, command, check=True, timeout=120)
        main.write_text(
            "import pathlib, time\n"
            f"pathlib.Path({str(started)!r}).write_text('y')\n"
            f"while not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.05)\n"
        )
        going = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await asyncio.to_thread(wait_for, started.exists, "the second run's first node")
            await asyncio.to_thread(watcher.check)  # one look: the first over, the second going
        finally:
            gate.touch()
            going.wait(120)
        found: list[HubEvent] = []
        while (event := await subscription.get(timeout=1)) is not None:
            found.append(event)
        return found

    found = run_coroutine(told())
    runs = [e.run_id for e in found if isinstance(e, RunStarted)]
    assert len(runs) == 2
    first = [e for e in found if e.run_id == runs[0]]
    assert found[: len(first)] == first, [type(e).__name__ for e in found]
    assert isinstance(first[-1], RunFinished)


FLOOD = (
    "import sys, time\n"
    "print('ready', flush=True)\n"
    "time.sleep(1.5)\n"
    "sys.stdout.write('x' * 12_000_000)\n"
    "sys.stdout.flush()\n"
    "time.sleep(1)\n"
)
"""12 MB on one line, written at once while the log is followed."""


def test_a_huge_line_is_streamed_a_chunk_at_a_time_to_a_slow_reader(
    chain: nodepipe.Workspace,
) -> None:
    from nodepipe.live.logs import MAX_LOG_BYTES

    (chain.nodes.path("load") / "code" / "main.py").write_text(FLOOD)
    with server_thread(chain) as live:
        httpx.post(
            f"{live.url}/api/pipelines/baseline/runs", headers=live.headers, json={"only": ["load"]}
        )
        stream_url = f"{live.url}/api/pipelines/baseline/nodes/load/log/stream"
        status_url = f"{live.url}/api/pipelines/baseline/status"

        def running() -> bool:
            status = httpx.get(status_url, headers=live.headers).json()
            return any(n["state"] == "running" for n in status["nodes"])

        wait_for(running, "load to be running")
        chunks: list[dict[str, Any]] = []
        with httpx.stream("GET", stream_url, headers=live.headers, timeout=60) as response:
            for event in events(response):
                chunks.append(event)
                time.sleep(0.05)  # a slow reader: the server must not read ahead of it
    texts = [c["text"] for c in chunks if c["type"] == "chunk"]
    assert max(len(text) for text in texts) <= MAX_LOG_BYTES
    assert "x" * 12_000_000 in "".join(texts)
    assert chunks[-1] == {"type": "end", "state": "completed"}
