"""The journal of operations in flight: an operation whose process died is found, a live
one never is, and litter is swept (real processes, really killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nodepipe.workspace import journal

HOLD_AN_OPERATION = """
import sys, time
from pathlib import Path
from nodepipe.workspace import journal
operation = journal.begin(Path(sys.argv[1]), "test-kind", made=sys.argv[2])
(operation.folder / "scratch.txt").write_text("half")
print(operation.id, flush=True)
time.sleep(600)
"""


def hold(root: Path) -> tuple[subprocess.Popen[str], str]:
    """A process that opened an operation and sleeps: (the process, the operation's id)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_AN_OPERATION, str(root), "x"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def test_a_live_operation_is_left_alone_and_a_dead_one_is_handed_over(tmp_path: Path) -> None:
    process, op_id = hold(tmp_path)
    try:
        assert list(journal.abandoned(tmp_path)) == []
        assert (tmp_path / op_id / "scratch.txt").exists()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    [found] = list(journal.abandoned(tmp_path))
    assert (found.id, found.kind, found.intent) == (op_id, "test-kind", {"made": "x"})
    assert list(journal.abandoned(tmp_path)) == [], "held by us now"
    found.finish()
    assert list(tmp_path.iterdir()) == []


def test_finishing_an_operation_leaves_nothing(tmp_path: Path) -> None:
    with journal.operation(tmp_path, "test-kind", made="y") as operation:
        (operation.folder / "scratch").mkdir()
        operation.record(more=[1, 2])
        assert operation.intent == {"made": "y", "more": [1, 2]}
    assert list(tmp_path.iterdir()) == []


def test_an_operation_killed_before_its_intent_has_no_kind(tmp_path: Path) -> None:
    lock = tmp_path / "2abcdefg.lock"
    lock.write_text("")
    (tmp_path / "2abcdefg").mkdir()  # killed between mkdir and the intent
    [found] = list(journal.abandoned(tmp_path))
    assert found.kind == "" and found.intent == {}
    found.finish()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("litter", ["old-node-copy", ".half.tmp"])
def test_folders_and_files_of_no_operation_are_swept(tmp_path: Path, litter: str) -> None:
    (tmp_path / litter).mkdir()
    (tmp_path / litter / "file").write_text("x")
    process, op_id = hold(tmp_path)
    try:
        assert list(journal.abandoned(tmp_path)) == []
        assert sorted(p.name for p in tmp_path.iterdir()) == [op_id, f"{op_id}.lock"]
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def test_what_an_ended_operation_left_to_discard_is_swept_and_nothing_else(
    tmp_path: Path,
) -> None:
    """An operation killed while it ended (its folder renamed ``.finished``, what it moved
    aside not yet removed): the next look removes what it recorded to discard, and only a
    path named as an aside, in a ``.finished`` folder; a damaged or hostile record names
    nothing else it would remove."""
    root, snapshots = tmp_path / "staging", tmp_path / "code" / "snapshots"
    snapshots.mkdir(parents=True)
    aside, victim = snapshots / ".mytool.previous.1a2b3c4d", tmp_path / "victim"
    behind_a_link = snapshots / ".other.previous.1a2b3c4d"
    for folder in (aside, victim, snapshots / "mytool", behind_a_link):
        folder.mkdir()
        (folder / "keep.txt").write_text("x")
    linked = tmp_path / "linked"
    linked.symlink_to(snapshots, target_is_directory=True)
    listed = [str(aside), str(victim), str(snapshots / "mytool"), "relative/.a.previous.1a2b3c4d"]
    listed.append(str(linked / behind_a_link.name))
    for name in ("op1.finished", "op2"):  # only an ended operation's record is read
        (root / name).mkdir(parents=True)
        intent = {"kind": "edit", "discard": listed if name == "op1.finished" else [str(victim)]}
        (root / name / journal.INTENT_FILE).write_text(json.dumps(intent))
    assert list(journal.abandoned(root)) == []
    assert list(root.iterdir()) == []
    assert not aside.exists()
    assert (victim / "keep.txt").is_file() and (snapshots / "mytool" / "keep.txt").is_file()
    assert (behind_a_link / "keep.txt").is_file()
