"""``env update-snapshot`` killed (SIGKILL) at each step of a copy update, of a clone update and
of a forced reset of a clone whose upstream rewrote its history: the next command leaves no
scratch folder behind, the snapshot is whole (the old one or the new one, never a mix), and the
node then runs with a lock that matches what it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from support.wheels import local_project, toy_index
from support.worlds import CHAIN, build_pipeline

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
WRITES_ANSWER = """\
import mytool, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mytool.ANSWER))
"""
ENDED = "journal.finishing@2"
"""The update's operation ending: it is done, the old snapshot (moved aside) not yet removed."""
POINTS = (
    "edit.saved",
    "snapshot.moved-aside",
    "snapshot.swapped",
    "snapshot.pulled",
    "snapshot.reset",
    "snapshot.relocked",
    "sync.built",
    "sync.swapping",
    "edit.edited",
    "journal.finishing",  # the sync's own operation ending, inside the update's
    ENDED,
)


def command(root: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODEPIPE, "-w", str(root), *argv], env=env, capture_output=True, text=True, check=False
    )


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def workspace(root: Path, origin: Path, env: dict[str, str]) -> str:
    """A workspace at ``root`` whose node ``clean`` has a snapshot of ``origin``; its id."""
    ws = nodepipe.init(root)
    build_pipeline(ws, "base", CHAIN)
    for tag in ("load", "plot"):
        (ws.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    (ws.nodes.path("clean") / "code" / "main.py").write_text(WRITES_ANSWER)
    previous = dict(os.environ)
    os.environ.update(env)
    try:
        ws.envs.add("clean", [], snapshot=str(origin))
    finally:
        os.environ.clear()
        os.environ.update(previous)
    clean_id = ws.nodes.show("clean").node.id
    ws.close()
    return clean_id


@pytest.mark.parametrize("kind", ["copy", "clone", "rewritten"])
def test_an_update_killed_anywhere_leaves_a_whole_snapshot_and_a_runnable_node(
    tmp_path: Path, kind: str
) -> None:
    wheels = toy_index(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env |= {"UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1"}
    env["UV_INDEX_URL"] = "http://127.0.0.1:9/simple"
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    if kind != "copy":
        git(origin, "init", "--quiet", "--initial-branch=main")
        git(origin, "add", ".")
        git(origin, "commit", "--quiet", "-m", "one")
    amend = ["commit", "--quiet", "--amend", "-am"]  # a rewritten history
    killed = 0
    for point in POINTS:
        root = tmp_path / f"ws-{point}"
        clean_id = workspace(root, origin, env)  # not a copy: an editable install names its path
        (origin / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
        if kind != "copy":
            git(origin, *(["commit", "--quiet", "-am"] if kind == "clone" else amend), "two")
        update = command(
            root,
            {**env, "NODEPIPE_CRASH_AT": point},
            *("env", "update-snapshot", "clean", "mytool"),
            *(["--force"] if kind == "rewritten" else []),
        )
        (origin / "mytool" / "__init__.py").write_text("ANSWER = 1\n")  # for the next one
        if kind != "copy":
            git(origin, *(["commit", "--quiet", "-am"] if kind == "clone" else amend), "one")
        if update.returncode != -9:
            continue  # not on this kind's path
        killed += 1
        assert command(root, env, "status", "base").returncode in (0, 1)  # settles leftovers
        snapshots = root / "nodes" / clean_id / "code" / "snapshots"
        assert sorted(p.name for p in snapshots.iterdir()) == ["mytool"], point
        text = (snapshots / "mytool" / "mytool" / "__init__.py").read_text()
        assert text in ("ANSWER = 1\n", "ANSWER = 2\n"), point
        if point == ENDED:  # done: the next command keeps it and removes the old one
            assert text == "ANSWER = 2\n", point
        elif kind == "rewritten":  # staged beside the old clone: a kill leaves the old one
            assert text == "ANSWER = 1\n", point
        ran = command(root, env, "run", "base", "--force")
        assert ran.returncode == 0, (point, ran.stdout, ran.stderr)
        answer = (root / "nodes" / clean_id / "data" / "answer.txt").read_text()
        assert f"ANSWER = {answer}\n" == text, point  # runs what the snapshot holds
        assert not list((root / ".nodepipe" / "staging").glob("*/")), point
    print(f"{kind}: killed at {killed} points")
    assert killed >= 5


KILLED_IN_RMTREE = """\
import os, shutil, signal, sys
from pathlib import Path

real = shutil.rmtree


def rmtree(path, *args, **kwargs):  # dies in the middle of removing the old snapshot
    found = ".previous." in Path(path).name or Path(path).name.endswith(".finished")
    inside = [p for p in Path(path).rglob("__init__.py") if "mytool" in p.parts] if found else []
    if inside:
        inside[0].unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, *args, **kwargs)


shutil.rmtree = rmtree
from nodepipe.cli.fork_client import console

sys.argv = ["nodepipe", *sys.argv[1:]]
sys.exit(console())
"""


def test_an_update_killed_while_removing_the_old_copy_stays_done(tmp_path: Path) -> None:
    """Killed while it removes the snapshot it replaced, after the update ended: the next
    command keeps the update (it was not undone with a half-removed folder moved back)."""
    wheels = toy_index(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env |= {"UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1", "NODEPIPE_FORK_SERVER": "0"}
    env["UV_INDEX_URL"] = "http://127.0.0.1:9/simple"
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    root = tmp_path / "ws"
    clean_id = workspace(root, origin, env)
    (origin / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
    script = tmp_path / "killed.py"
    script.write_text(KILLED_IN_RMTREE)
    update = subprocess.run(
        [sys.executable, str(script), "-w", str(root), "env", "update-snapshot", "clean", "mytool"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert update.returncode == -9, update.stderr
    assert command(root, env, "status", "base").returncode in (0, 1)  # settles leftovers
    snapshot = root / "nodes" / clean_id / "code" / "snapshots" / "mytool"
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 2\n"
    ran = command(root, env, "run", "base", "--force")
    assert ran.returncode == 0, (ran.stdout, ran.stderr)
    assert (root / "nodes" / clean_id / "data" / "answer.txt").read_text() == "2"
