"""``env add --shared`` of a package the node installs from a snapshot, killed (SIGKILL) at each
step before it ends: the next command puts the snapshot back whole (its folder, its record,
its lock), nothing beside it, and the node runs it."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nodepipe
from faults.test_snapshot_kills import WRITES_ANSWER, command
from nodepipe.workspace.source_kinds import SourceKind, installed_from
from support.wheels import local_project, toy_index
from support.worlds import NodeSpec, build_pipeline

POINTS = ("edit.saved", "snapshot.dropped", "edit.edited", "sync.built")


def test_a_switch_from_a_snapshot_killed_anywhere_leaves_the_snapshot_whole(tmp_path: Path) -> None:
    wheels = toy_index(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env |= {"UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1"}
    env |= {"UV_INDEX_URL": "http://127.0.0.1:9/simple", "NODEPIPE_FORK_SERVER": "0"}
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    for point in POINTS:
        root = tmp_path / f"ws-{point}"
        ws = nodepipe.init(root)
        build_pipeline(ws, "base", {"clean": NodeSpec(code=WRITES_ANSWER)})
        code = ws.nodes.path("clean") / "code"
        ws.close()
        assert command(root, env, "env", "add", "clean", "--snapshot", str(origin)).returncode == 0

        switch = command(
            root,
            {**env, "NODEPIPE_CRASH_AT": point},
            "env",
            "add",
            "clean",
            "--shared",
            str(origin),
        )
        assert switch.returncode == -9, (point, switch.stderr)
        assert command(root, env, "status", "base").returncode in (0, 1)  # settles leftovers
        assert installed_from(code, "mytool") == (SourceKind.SNAPSHOT, "mytool"), point
        assert sorted(p.name for p in (code / "snapshots").iterdir()) == ["mytool"], point
        assert (code / "snapshots" / "mytool" / "mytool" / "__init__.py").is_file(), point
        declared = tomllib.loads((code / "pyproject.toml").read_text())
        assert declared["tool"]["nodepipe"]["snapshots"] == {"mytool": str(origin)}, point
        ran = command(root, env, "run", "base")
        assert ran.returncode == 0, (point, ran.stdout, ran.stderr)
        assert (code.parent / "data" / "answer.txt").read_text() == "1", point
