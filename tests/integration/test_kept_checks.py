"""The web app keeps each node's check between views while its watcher vouches that the node's
folder did not change (``workspace.folder_memo``), and never shows a state that is wrong:
an edit on disk (code, parameters, a shared checkout outside ``nodes/``), a run from the CLI
and an edge changed from the CLI each show in the very next GET. Real server, real watcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import nodepipe
from api.live import LiveServer, server_thread
from integration.test_external_code import git_checkout
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.check_cache import CheckCache
from support.waiting import wait_for

CLI = Path(sys.executable).parent / "nodepipe"


@pytest.fixture
def ran(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    chain.runs.run(RunRequest("baseline"))
    return chain


@pytest.fixture
def live(ran: nodepipe.Workspace) -> Iterator[LiveServer]:
    with server_thread(ran) as server:
        wait_for(lambda: ran.context.folder_memo.armed, "the node folders' watcher to watch")
        yield server


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The node folders each GET looks at (each asks the cross-process cache first, which
    stats the folder's files; the real check runs)."""
    seen: list[str] = []
    real = CheckCache.get

    def counting(self, node_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(node_id)
        return real(self, node_id, *args, **kwargs)

    monkeypatch.setattr(CheckCache, "get", counting)
    return seen


def view(live: LiveServer) -> dict[str, tuple[str, str]]:
    graph = httpx.get(f"{live.url}/api/pipelines/baseline", headers=live.headers, timeout=30)
    assert graph.status_code == 200, graph.text
    return {n["tag"]: (n["state"], n["state_reason"] or "") for n in graph.json()["nodes"]}


def ids(ws: nodepipe.Workspace) -> dict[str, str]:
    return {tag: ws.nodes.path(tag).name for tag in ("load", "clean", "plot")}


def test_a_view_rechecks_only_the_nodes_whose_folders_changed(
    ran: nodepipe.Workspace, live: LiveServer, checked: list[str]
) -> None:
    assert {s for s, _ in view(live).values()} == {"completed"}
    assert sorted(checked) == sorted(ids(ran).values())  # the first view checks every node
    checked.clear()
    assert {s for s, _ in view(live).values()} == {"completed"}
    assert checked == []  # nothing changed: nothing is looked at again

    (ran.nodes.path("clean") / "code" / "main.py").write_text("print('new')\n")
    shown = view(live)  # at once: the view catches up with the watcher first
    assert shown["clean"] == ("stale", "code changed: main.py")
    assert shown["plot"][0] == "stale" and "parent 01 (clean) is stale" in shown["plot"][1]
    assert checked == [ids(ran)["clean"]]


def test_a_parameter_edited_on_disk_shows_in_the_next_view(
    ran: nodepipe.Workspace, live: LiveServer
) -> None:
    view(live)
    view(live)
    (ran.nodes.path("load") / "code" / "params.yaml").write_text("lr: 0.5\n")
    state, reason = view(live)["load"]
    assert state == "stale" and "parameter" in reason and "lr" in reason


def test_a_node_folder_removed_shows_in_the_next_view(
    ran: nodepipe.Workspace, live: LiveServer, tmp_path: Path
) -> None:
    view(live)
    ran.nodes.path("plot").rename(tmp_path / "moved-away")
    state, reason = view(live)["plot"]
    assert state == "failed" and "is missing" in reason


def test_an_edit_in_a_shared_checkout_outside_nodes_shows_in_the_next_view(
    chain: nodepipe.Workspace, offline_uv: Path, tmp_path: Path
) -> None:
    checkout = git_checkout(tmp_path / "src" / "mytool")
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    chain.envs.add("plot", [], shared=str(checkout))
    chain.runs.run(RunRequest("baseline"))
    with server_thread(chain) as server:
        wait_for(lambda: chain.context.folder_memo.armed, "the node folders' watcher to watch")
        assert view(server)["plot"][0] == "completed"
        assert view(server)["plot"][0] == "completed"
        (checkout / "mytool" / "__init__.py").write_text("ANSWER = 22\n")
        state, reason = view(server)["plot"]
    assert state == "stale" and "shared code changed: mytool (mytool/__init__.py)" in reason


def test_a_run_and_an_edge_change_from_the_cli_show_in_the_next_view(
    ran: nodepipe.Workspace, live: LiveServer
) -> None:
    (ran.nodes.path("load") / "code" / "main.py").write_text("print('again')\n")
    assert view(live)["load"][0] == "stale"
    assert view(live)["clean"][0] == "stale"
    subprocess.run([CLI, "-w", str(ran.root), "run", "baseline"], check=True, timeout=300)
    assert {s for s, _ in view(live).values()} == {"completed"}

    subprocess.run(
        [CLI, "-w", str(ran.root), "disconnect", "clean", "plot", "-p", "baseline"],
        check=True,
        timeout=120,
    )
    state, reason = view(live)["plot"]
    assert state == "stale" and "clean" in reason


def test_an_edit_behind_a_symbolic_link_in_code_shows_in_the_next_view(
    ran: nodepipe.Workspace, live: LiveServer, tmp_path: Path
) -> None:
    outside = tmp_path / "helpers"
    outside.mkdir()
    (outside / "util.py").write_text("X = 1\n")
    (ran.nodes.path("load") / "code" / "helpers").symlink_to(outside)
    ran.runs.run(RunRequest("baseline"))
    assert view(live)["load"][0] == "completed"
    assert view(live)["load"][0] == "completed"
    (outside / "util.py").write_text("X = 22\n")  # inotify does not see this folder
    state, reason = view(live)["load"]
    assert state == "stale" and "helpers/util.py" in reason


def test_an_edit_in_a_code_folder_that_is_itself_a_symbolic_link_shows_in_the_next_view(
    ran: nodepipe.Workspace, live: LiveServer, tmp_path: Path
) -> None:
    """``code/`` moved elsewhere and linked back in place: its files lie where the watch of
    ``nodes/`` is not told of their edits, so the node is checked at every view."""
    code = ran.nodes.path("load") / "code"
    moved = tmp_path / "load-code"
    shutil.move(code, moved)
    code.symlink_to(moved, target_is_directory=True)
    assert view(live)["load"][0] == "completed"
    assert view(live)["load"][0] == "completed"
    (moved / "main.py").write_text("print('edited where it lies')\n")
    assert view(live)["load"] == ("stale", "code changed: main.py")


def test_an_edit_through_another_hard_link_of_a_code_file_shows_in_every_view_and_run(
    ran: nodepipe.Workspace, live: LiveServer, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "hl.py"  # the same filesystem as the workspace: a hard link works
    elsewhere.write_text("x = 1\n")
    os.link(elsewhere, ran.nodes.path("load") / "code" / "hl.py")
    ran.runs.run(RunRequest("baseline"))
    assert view(live)["load"][0] == "completed"
    assert view(live)["load"][0] == "completed"
    with elsewhere.open("w") as same_inode:  # edited through its other name: the watch of
        same_inode.write("x = 3\n")  # nodes/ is not told
    state, reason = view(live)["load"]
    assert state == "stale" and "hl.py" in reason
    status = httpx.get(
        f"{live.url}/api/pipelines/baseline/status", headers=live.headers, timeout=30
    )
    assert status.status_code == 200, status.text
    assert {n["tag"]: n["state"] for n in status.json()["nodes"]}["load"] == "stale"
    plan = httpx.post(
        f"{live.url}/api/pipelines/baseline/plan", json={}, headers=live.headers, timeout=30
    )
    assert plan.status_code == 200, plan.text
    assert [n["tag"] for n in plan.json()["run"]] == ["load", "clean", "plot"]
    launched = httpx.post(
        f"{live.url}/api/pipelines/baseline/runs", json={}, headers=live.headers, timeout=30
    )
    assert launched.status_code == 202 and launched.json()["run_id"], launched.text
    wait_for(lambda: {s for s, _ in view(live).values()} == {"completed"}, "the web run to finish")


def test_the_watcher_stopping_drops_what_it_vouched_for(ran: nodepipe.Workspace) -> None:
    with server_thread(ran) as server:
        wait_for(lambda: ran.context.folder_memo.armed, "the node folders' watcher to watch")
        view(server)
    assert not ran.context.folder_memo.armed and not ran.context.folder_memo.catch_up()


@pytest.mark.parametrize("kind", ["symbolic", "hard"])
def test_an_edit_of_a_links_file_kept_outside_the_node_folder_shows_in_the_next_view(
    ran: nodepipe.Workspace, live: LiveServer, tmp_path: Path, kind: str
) -> None:
    """A links file that is a symbolic link, or has another hard link: edited where it lies,
    the watch of ``nodes/`` is not told, so the node is checked at every view."""
    outside = tmp_path / "links.toml"
    outside.write_text("# no libs yet\n")
    links = ran.nodes.path("load") / "links.toml"
    if kind == "symbolic":
        links.symlink_to(outside)
    else:
        os.link(outside, links)
    ran.runs.run(RunRequest("baseline"))
    assert view(live)["load"][0] == "completed"
    assert view(live)["load"][0] == "completed"
    lib = ids(ran)["clean"]
    (ran.root / "libs" / lib).mkdir(parents=True)
    (ran.root / "libs" / lib / "helpers.py").write_text("X = 1\n")
    with outside.open("w") as same_inode:  # written in place: the watch of nodes/ is not told
        same_inode.write(f'[libs]\nhelpers = "{lib}"\n')
    assert view(live)["load"][0] == "stale"
