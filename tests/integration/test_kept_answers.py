"""The web app answers ``GET /api/pipelines/{p}`` again from the bytes of its last answer while
nothing that answer was built from changed, and says so with a weak ETag (a page that sends it
back gets a 304 without a body). Every way the graph can change shows in the very next answer:
a write from another process (CLI), a run, a file saved in a node folder, a parameter edited
through the API, on SQLite and on PostgreSQL. Real server, real watcher, real CLI processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import nodepipe
from api.live import LiveServer, server_thread
from nodepipe.services.graph.pipelines import PipelineService
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace import folder_memo
from support.waiting import wait_for
from support.worlds import CHAIN, build_pipeline

CLI = Path(sys.executable).parent / "nodepipe"


def run_all(ws: nodepipe.Workspace) -> nodepipe.Workspace:
    for tag in ("load", "clean", "plot"):
        (ws.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    ws.runs.run(RunRequest("baseline"))
    return ws


@pytest.fixture
def ran(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    return run_all(chain)


@contextmanager
def serving(ws: nodepipe.Workspace) -> Iterator[LiveServer]:
    with server_thread(ws) as server:
        wait_for(lambda: ws.context.folder_memo.armed, "the node folders' watcher to watch")
        yield server


@pytest.fixture
def live(ran: nodepipe.Workspace) -> Iterator[LiveServer]:
    with serving(ran) as server:
        yield server


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time the server builds a pipeline's answer (rather than serving the kept one)."""
    seen: list[str] = []
    real = PipelineService.show_updated

    def counting(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(name)
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(PipelineService, "show_updated", counting)
    return seen


def get(live: LiveServer, etag: str | None = None) -> httpx.Response:
    headers = {**live.headers, **({"If-None-Match": etag} if etag else {})}
    answer = httpx.get(f"{live.url}/api/pipelines/baseline", headers=headers, timeout=60)
    assert answer.status_code in (200, 304), answer.text
    return answer


def states(answer: httpx.Response) -> dict[str, tuple[str, str]]:
    assert answer.status_code == 200
    return {n["tag"]: (n["state"], n["state_reason"] or "") for n in answer.json()["nodes"]}


def settled(live: LiveServer) -> httpx.Response:
    """The answer once two in a row are the same (the first views keep every node's check)."""
    get(live)
    return get(live)


def test_an_unchanged_pipeline_is_not_built_again_and_a_page_that_has_it_gets_a_304(
    live: LiveServer, builds: list[str]
) -> None:
    first = settled(live)
    built = len(builds)
    again = get(live)
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert first.headers["etag"].startswith('W/"')
    assert again.headers["cache-control"] == "no-cache"  # the browser asks each time
    assert len(builds) == built  # served from the kept bytes

    unchanged = get(live, first.headers["etag"])
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"]
    assert get(live, 'W/"someone-else", ' + first.headers["etag"]).status_code == 304
    assert get(live, 'W/"someone-else"').status_code == 200
    assert len(builds) == built


def test_a_write_from_another_process_shows_in_the_next_answer(
    ran: nodepipe.Workspace, live: LiveServer
) -> None:
    etag = settled(live).headers["etag"]
    subprocess.run(
        [CLI, "-w", str(ran.root), "node", "rename", "clean", "scrub", "-p", "baseline"],
        check=True,
        timeout=120,
    )
    answer = get(live, etag)
    assert answer.status_code == 200 and answer.headers["etag"] != etag
    assert set(states(answer)) == {"load", "scrub", "plot"}


def test_a_file_saved_in_a_node_folder_and_a_run_show_in_the_next_answer(
    ran: nodepipe.Workspace, live: LiveServer, builds: list[str]
) -> None:
    etag = settled(live).headers["etag"]
    (ran.nodes.path("clean") / "code" / "main.py").write_text("print('new')\n")
    edited = get(live, etag)
    assert states(edited)["clean"] == ("stale", "code changed: main.py")
    assert states(edited)["plot"][0] == "stale"

    ran.runs.run(RunRequest("baseline"))  # the run's progress is written to the store
    after_run = get(live, edited.headers["etag"])
    assert {state for state, _ in states(after_run).values()} == {"completed"}

    get(live)
    built = len(builds)
    subprocess.run(
        [CLI, "-w", str(ran.root), "run", "baseline", "--force"], check=True, timeout=300
    )
    assert get(live, after_run.headers["etag"]).status_code == 304  # the graph is the same
    assert len(builds) == built + 1  # but the run's writes made the server look again


def test_a_parameter_edited_through_the_api_shows_in_the_next_answer(live: LiveServer) -> None:
    etag = settled(live).headers["etag"]
    edit = httpx.put(
        f"{live.url}/api/pipelines/baseline/nodes/load/params",
        headers=live.headers,
        json={"yaml": "lr: 0.5\n"},
        timeout=60,
    )
    assert edit.status_code == 200, edit.text
    state, reason = states(get(live, etag))["load"]
    assert state == "stale" and "lr" in reason


def test_a_node_checked_outside_its_folder_is_built_again_every_time(
    ran: nodepipe.Workspace, tmp_path: Path, builds: list[str]
) -> None:
    outside = tmp_path / "helpers"
    outside.mkdir()
    (outside / "util.py").write_text("X = 1\n")
    (ran.nodes.path("load") / "code" / "helpers").symlink_to(outside)
    ran.runs.run(RunRequest("baseline"))
    with serving(ran) as server:
        first = settled(server)
        built = len(builds)
        assert get(server, first.headers["etag"]).status_code == 304  # the same bytes
        assert len(builds) == built + 1  # but built again: inotify does not see `helpers`
        (outside / "util.py").write_text("X = 22\n")
        state, reason = states(get(server, first.headers["etag"]))["load"]
        assert state == "stale" and "helpers/util.py" in reason


def test_an_answer_is_built_again_once_its_checks_are_no_longer_trusted(
    live: LiveServer, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough that the GET right after the build is inside the window on a busy machine
    # (with 1 s, a GET at load 20 came after it and built again).
    monkeypatch.setattr(folder_memo, "TRUST_SECONDS", 4.0)
    first = settled(live)
    built = len(builds)
    get(live)
    assert len(builds) == built
    time.sleep(4.2)  # inotify can drop events unseen: the folders are looked at again
    assert get(live, first.headers["etag"]).status_code == 304
    assert len(builds) == built + 1


@pytest.mark.postgres
def test_on_postgresql_a_write_from_another_process_shows_in_the_next_answer(
    tmp_path: Path, fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch, builds: list[str]
) -> None:
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(tmp_path / "lab", store_url=fresh_postgres_url)
    try:
        build_pipeline(ws, "baseline", CHAIN, project="climate")
        run_all(ws)
        with serving(ws) as server:
            etag = settled(server).headers["etag"]
            built = len(builds)
            assert get(server, etag).status_code == 304
            assert len(builds) == built
            subprocess.run(
                [CLI, "-w", str(ws.root), "node", "rename", "plot", "draw", "-p", "baseline"],
                check=True,
                timeout=120,
            )
            assert set(states(get(server, etag))) == {"load", "clean", "draw"}
            (ws.nodes.path("load") / "code" / "main.py").write_text("print('new')\n")
            assert states(get(server))["load"] == ("stale", "code changed: main.py")
    finally:
        ws.close()
