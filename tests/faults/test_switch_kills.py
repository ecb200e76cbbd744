"""``env add --shared`` of a package the node installs from a snapshot, killed (SIGKILL) at each
step, the snapshot's move out of ``code/`` and the end of the edit included: the next command
finds the node as it was (the snapshot in place, whole, with its record and lock) or as the
switch leaves it (the snapshot whole in ``undone-edits/``, the new pyproject and lock), never a
mix, nothing half-moved, and the node runs."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nodepipe
from faults.test_snapshot_kills import WRITES_ANSWER, command
from nodepipe.workspace.source_kinds import SourceKind, installed_from
from support.wheels import local_project, toy_index
from support.worlds import NodeSpec, build_pipeline

POINTS = {
    "edit.saved": "old",
    "snapshot.dropped": "old",
    "edit.edited": "old",
    "sync.built": "old",
    "journal.finishing@1": "old",  # the sync's own operation, inside the edit
    "journal.finishing@2": "new",  # the edit's: it is over, its folder no operation's
}
"""Each crash point, and the state the next command finds."""

MINE = "ANSWER = 'mine'\n"


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_a_switch_from_a_snapshot_killed_anywhere_leaves_it_switched_or_not(
    tmp_path: Path,
) -> None:
    wheels = toy_index(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env |= {"UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1"}
    env |= {"UV_INDEX_URL": "http://127.0.0.1:9/simple", "NODEPIPE_FORK_SERVER": "0"}
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    for point, expected in POINTS.items():
        root = tmp_path / f"ws-{point}"
        ws = nodepipe.init(root)
        build_pipeline(ws, "base", {"clean": NodeSpec(code=WRITES_ANSWER)})
        code = ws.nodes.path("clean") / "code"
        ws.close()
        assert command(root, env, "env", "add", "clean", "--snapshot", str(origin)).returncode == 0
        snapshot = code / "snapshots" / "mytool"
        (snapshot / "mytool" / "__init__.py").write_text(MINE)  # the user's edit
        before = files_under(snapshot)
        lock = (code / "uv.lock").read_bytes()

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
        kept = sorted((code.parent / "undone-edits").glob("snapshot-mytool.*"))
        declared = tomllib.loads((code / "pyproject.toml").read_text())
        if expected == "old":
            assert installed_from(code, "mytool") == (SourceKind.SNAPSHOT, "mytool"), point
            assert sorted(p.name for p in (code / "snapshots").iterdir()) == ["mytool"], point
            assert files_under(snapshot) == before, point
            assert declared["tool"]["nodepipe"]["snapshots"] == {"mytool": str(origin)}, point
            assert (code / "uv.lock").read_bytes() == lock, point
            assert kept == [], point
        else:
            assert installed_from(code, "mytool").kind is SourceKind.SHARED, point
            assert not snapshot.exists(), point
            assert "snapshots" not in declared["tool"]["nodepipe"], point
            assert (code / "uv.lock").read_bytes() != lock, point
            assert len(kept) == 1 and files_under(kept[0]) == before, point
        ran = command(root, env, "run", "base")
        assert ran.returncode == 0, (point, ran.stdout, ran.stderr)
        answer = (code.parent / "data" / "answer.txt").read_text()
        assert answer == ("mine" if expected == "old" else "1"), point


def node_with_a_snapshot(tmp_path: Path) -> tuple[Path, dict[str, str], Path, Path]:
    """A workspace whose node ``clean`` installs ``mytool`` from a snapshot: its root, the
    environment commands run with (offline), the node's ``code/`` and the snapshot's origin."""
    wheels = toy_index(tmp_path / "wheels")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env |= {"UV_FIND_LINKS": str(wheels), "UV_OFFLINE": "1"}
    env |= {"UV_INDEX_URL": "http://127.0.0.1:9/simple", "NODEPIPE_FORK_SERVER": "0"}
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    root = tmp_path / "ws"
    ws = nodepipe.init(root)
    build_pipeline(ws, "base", {"clean": NodeSpec(code=WRITES_ANSWER)})
    code = ws.nodes.path("clean") / "code"
    ws.close()
    assert command(root, env, "env", "add", "clean", "--snapshot", str(origin)).returncode == 0
    return root, env, code, origin


def test_what_the_user_made_where_a_killed_switch_puts_the_snapshot_back_is_kept(
    tmp_path: Path,
) -> None:
    """Killed once the snapshot is moved out, the user makes a folder of that name by hand
    (new work) before the next command: the recovery puts the snapshot back and keeps the new
    work in ``undone-edits/`` (it removed it)."""
    root, env, code, _ = node_with_a_snapshot(tmp_path)
    snapshot = code / "snapshots" / "mytool"
    before = files_under(snapshot)
    killed = command(
        root, {**env, "NODEPIPE_CRASH_AT": "sync.built"}, "env", "remove", "clean", "mytool"
    )
    assert killed.returncode == -9, killed.stderr
    assert not snapshot.exists()
    (snapshot / "work").mkdir(parents=True)
    (snapshot / "work" / "NEW.txt").write_text("my new work\n")

    assert command(root, env, "status", "base").returncode in (0, 1)  # the recovery
    assert files_under(snapshot) == before  # the snapshot is back, whole
    found = sorted((code.parent / "undone-edits").glob("found-mytool.*"))
    assert len(found) == 1 and files_under(found[0]) == {"work/NEW.txt": b"my new work\n"}


def test_a_switch_whose_undone_edits_cannot_be_a_folder_is_refused(tmp_path: Path) -> None:
    root, env, code, origin = node_with_a_snapshot(tmp_path)
    (code.parent / "undone-edits").write_text("a file of that name\n")
    before = files_under(code)
    refused = command(root, env, "env", "add", "clean", "--shared", str(origin))
    assert refused.returncode == 4, refused.stderr
    assert "something else has that name" in refused.stderr.replace("\n", " ")
    assert files_under(code) == before
