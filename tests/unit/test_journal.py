"""The journal of operations in flight: an operation whose process died is found, a live
one never is, and litter is swept (real processes, really killed)."""

from __future__ import annotations

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
