"""``node replace LIB NEW`` killed (SIGKILL) at each step while it re-points the library links
of LIB's users: the next command leaves every user linking LIB or NEW (its pyproject.toml and
uv.lock alike), never a deleted folder, and the user then runs the library it links."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from support.wheels import local_project, toy_index
from support.worlds import CHAIN, build_pipeline

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
WRITES_ANSWER = """\
import mylib, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mylib.ANSWER))
"""
POINTS = (
    "relink.recorded",  # the plan in the journal, the rows not committed
    "relink.committed",  # the rows committed, no file re-pointed
    "relink.file",  # plot's pyproject.toml re-pointed, its uv.lock not yet
    "relink.file@2",  # both re-pointed, the old folder still there
    "folders.deleted-one",
)


def command(root: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODEPIPE, "-w", str(root), *argv], env=env, capture_output=True, text=True, check=False
    )


def workspace(root: Path) -> tuple[str, str, str]:
    """Pipeline ``base`` (load → clean → plot) with library nodes ``lib`` (mylib, ANSWER 1)
    and ``lib2`` (its duplicate, ANSWER 2); plot installs mylib from lib. (plot, lib, lib2)."""
    ws = nodepipe.init(root)
    build_pipeline(ws, "base", CHAIN)
    lib = ws.nodes.new("base", "lib")
    local_project(ws.nodes.path(lib.id) / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    for tag in ("load", "clean", "lib"):
        (ws.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    (ws.nodes.path("plot") / "code" / "main.py").write_text(WRITES_ANSWER)
    ws.external.add_from_node("plot", "lib", "base")
    lib2 = ws.node_copies.duplicate(["lib"], "base", tag="lib2")[0]
    init = ws.nodes.path(lib2.id) / "code" / "mylib" / "mylib" / "__init__.py"
    init.write_text("ANSWER = 2\n")
    plot = ws.nodes.show("plot").node.id
    ws.close()
    return plot, lib.id, lib2.id


@pytest.mark.parametrize("keep", [False, True])
def test_a_replace_killed_anywhere_leaves_each_user_linking_a_library_node_that_exists(
    tmp_path: Path, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = toy_index(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env |= {"UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1"}
    env["UV_INDEX_URL"] = "http://127.0.0.1:9/simple"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    killed = 0
    for point in POINTS:
        root = tmp_path / f"ws-{point}"
        plot, lib, lib2 = workspace(root)
        argv = ["node", "replace", "lib", "lib2", "-p", "base", "--yes"]
        replaced = command(root, {**env, "NODEPIPE_CRASH_AT": point}, *argv, *(["--keep"] * keep))
        if replaced.returncode != -9:
            assert replaced.returncode == 0, (point, replaced.stderr)
            continue  # not on this path (with --keep, no folder is deleted)
        killed += 1
        assert command(root, env, "status", "base").returncode in (0, 1)  # settles leftovers
        code = root / "nodes" / plot / "code"
        linked = {
            name: set(re.findall(r"\.\./\.\./(\w+)/code/mylib", (code / name).read_text()))
            for name in ("pyproject.toml", "uv.lock")
        }
        assert linked["pyproject.toml"] == linked["uv.lock"], point  # never a mix
        (target,) = linked["uv.lock"]
        assert target in (lib, lib2) and (root / "nodes" / target / "code").is_dir(), point
        if not (root / "nodes" / lib).exists():
            assert target == lib2, point
        ran = command(root, env, "run", "base")
        assert ran.returncode == 0, (point, ran.stdout, ran.stderr)
        answer = (root / "nodes" / plot / "data" / "answer.txt").read_text()
        assert answer == ("2" if target == lib2 else "1"), point
        assert not list((root / ".nodepipe" / "staging").glob("*/")), point
    print(f"keep={keep}: killed at {killed} points")
    assert killed >= (4 if keep else 5)
