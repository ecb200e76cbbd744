"""Outputs are swapped in whole: data/ holds the old outputs or the new ones, never a mix.

A crash (SIGKILL) at any point of a promotion leaves files from which ``promoted`` tells
whether the new outputs are in (the store may be rolled forward) and ``undo`` brings the old
ones back otherwise; the old outputs are removed only by ``finish_promotion``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.output_swap import (
    INTENT_SPARE,
    Promotion,
    discard,
    finish_promotion,
    open_staging,
    promote,
    promoted,
    quick_to_settle,
    undo,
)


@pytest.fixture
def folder(tmp_path: Path) -> NodeFolder:
    node = NodeFolder(tmp_path / "node")
    node.make_output_dirs()
    return node


def files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def promotion(node_run_id: str) -> Promotion:
    return Promotion("run", node_run_id, f"digest-{node_run_id}", f"fingerprint-{node_run_id}")


def test_new_outputs_replace_old_ones_on_success(folder: NodeFolder) -> None:
    (folder.data / "old.txt").write_text("old")
    staging = open_staging(folder, "run1")
    assert files(folder.data) == {"old.txt": "old"}  # untouched while the run goes on
    (staging / "new.txt").write_text("new")
    promote(folder, promotion("run1"))
    assert files(folder.data) == {"new.txt": "new"}
    kept = sorted(p.name for p in (folder.path / ".staging").iterdir())
    assert kept == ["run1.previous", "run1.promoting"], "old outputs kept until recorded"
    assert files(folder.path / ".staging" / "run1.previous") == {"old.txt": "old"}
    finish_promotion(folder, "run1")
    assert list((folder.path / ".staging").iterdir()) == []


def test_an_intent_is_written_over_the_file_of_the_last_one(folder: NodeFolder) -> None:
    """No file is created and removed per promotion (it costs a trivial node run more than
    the rest of its promotion): the finished intent is kept aside and the next one written
    over it, its old bytes gone (a shorter intent after a longer one reads back whole)."""
    (open_staging(folder, "run1") / "new.txt").write_text("new")
    promote(folder, Promotion("run", "run1", "digest-run1", "f" * 500))
    intent = (folder.path / ".staging" / "run1.promoting").stat().st_ino
    finish_promotion(folder, "run1")
    assert list((folder.path / ".staging").iterdir()) == []
    assert (folder.path / INTENT_SPARE).stat().st_ino == intent
    staging = open_staging(folder, "run2")
    (staging / "newer.txt").write_text("newer")
    second = Promotion("run", "run2", fingerprint_outputs(staging), "f")
    promote(folder, second)
    assert (folder.path / ".staging" / "run2.promoting").stat().st_ino == intent
    assert not (folder.path / INTENT_SPARE).exists()
    assert promoted(folder, "run2") == second
    finish_promotion(folder, "run2")
    assert files(folder.data) == {"newer.txt": "newer"}


def test_an_intent_that_still_holds_the_last_ones_words_is_not_taken_for_a_promotion(
    folder: NodeFolder,
) -> None:
    """An intent written over the spare may, after a power cut, hold the last promotion's
    bytes (the rename kept, the overwrite lost); with outputs that digest the same, only the
    node run it names tells it apart: the previous outputs come back."""
    (open_staging(folder, "run1") / "same.txt").write_text("same")
    promote(
        folder,
        Promotion("run", "run1", fingerprint_outputs(folder.path / ".staging" / "run1"), "f1"),
    )
    old_words = (folder.path / ".staging" / "run1.promoting").read_text()
    finish_promotion(folder, "run1")
    (open_staging(folder, "run2") / "same.txt").write_text("same")
    promote(
        folder,
        Promotion("run", "run2", fingerprint_outputs(folder.path / ".staging" / "run2"), "f2"),
    )
    (folder.path / ".staging" / "run2.promoting").write_text(
        old_words
    )  # what a power cut can leave
    assert promoted(folder, "run2") is None
    undo(folder, "run2")
    assert files(folder.data) == {"same.txt": "same"}
    assert list((folder.path / ".staging").iterdir()) == []


@pytest.mark.parametrize("planted", ["fifo", "hard link", "folder", "another user's file"])
def test_a_spare_that_is_not_a_plain_file_of_its_own_is_never_written_through(
    folder: NodeFolder, tmp_path: Path, planted: str
) -> None:
    """Something else at ``.intent-spare`` (put there by a node's code or a user): a FIFO made
    the promotion wait for ever (no reader), a hard link had the intent written over the file
    elsewhere. The intent is written as a new file instead, and the spare is ours after it."""
    spare = folder.path / INTENT_SPARE
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("keep me")
    if planted == "fifo":
        os.mkfifo(spare)
    elif planted == "hard link":
        os.link(victim, spare)
    elif planted == "folder":
        spare.mkdir()
    else:  # theirs to keep: this user (root in CI) could write over it, and must not
        spare.write_text("keep me")
        os.chown(spare, 65534, 65534)
        victim = Path(f"/proc/self/fd/{os.open(spare, os.O_RDONLY)}")  # its content, by fd
    staging = open_staging(folder, "run1")
    (staging / "new.txt").write_text("new")
    intent = Promotion("run", "run1", fingerprint_outputs(staging), "f")
    promoting = threading.Thread(target=promote, args=(folder, intent), daemon=True)
    promoting.start()
    promoting.join(30)
    assert not promoting.is_alive(), "the promotion waits on the spare"
    assert promoted(folder, "run1") == intent
    assert victim.read_text() == "keep me"
    finish_promotion(folder, "run1")
    assert files(folder.data) == {"new.txt": "new"}
    if planted != "folder":  # a folder's name is not taken over: the intent just goes
        assert spare.is_file() and spare.stat().st_nlink == 1


def test_a_failed_run_leaves_old_outputs_as_they_were(folder: NodeFolder) -> None:
    (folder.data / "old.txt").write_text("old")
    (open_staging(folder, "run1") / "half.txt").write_text("half")
    discard(folder, "run1")
    assert files(folder.data) == {"old.txt": "old"}


def test_empty_outputs_become_the_staging_folder_and_come_back(folder: NodeFolder) -> None:
    staging = open_staging(folder, "run1")
    assert not folder.data.exists() and staging.is_dir() and files(staging) == {}
    (staging / "half.txt").write_text("half")
    discard(folder, "run1")
    assert folder.data.is_dir() and files(folder.data) == {}
    (open_staging(folder, "run2") / "new.txt").write_text("new")
    promote(folder, promotion("run2"))
    assert files(folder.data) == {"new.txt": "new"}


def test_undo_after_a_crash_mid_run_gives_back_an_empty_data_folder(folder: NodeFolder) -> None:
    (open_staging(folder, "run1") / "half.txt").write_text("half")
    assert promoted(folder, "run1") is None
    undo(folder, "run1")
    assert folder.data.is_dir() and files(folder.data) == {}
    assert list((folder.path / ".staging").iterdir()) == []


def test_undo_restores_outputs_set_aside_by_an_interrupted_swap(folder: NodeFolder) -> None:
    (folder.data / "old.txt").write_text("old")
    (open_staging(folder, "run1") / "new.txt").write_text("new")
    folder.data.rename(folder.path / ".staging" / "run1.previous")  # crash between the renames
    undo(folder, "run1")
    assert files(folder.data) == {"old.txt": "old"}


def test_a_swap_whose_outputs_are_not_whole_is_not_taken_for_a_promotion(
    folder: NodeFolder,
) -> None:
    """A power cut may keep the renames and lose file contents: the digest says so, and the
    previous outputs come back."""
    (folder.data / "old.txt").write_text("old")
    staging = open_staging(folder, "run1")
    (staging / "new.txt").write_text("new")
    promote(folder, Promotion("run", "run1", fingerprint_outputs(staging), "f"))
    (folder.data / "new.txt").write_text("")  # what a power cut can leave
    assert promoted(folder, "run1") is None
    undo(folder, "run1", fingerprint_outputs(folder.path / ".staging" / "run1.previous"))
    assert files(folder.data) == {"old.txt": "old"}
    assert list((folder.path / ".staging").iterdir()) == []


def test_undo_drops_unrecorded_outputs_swapped_into_an_empty_data_folder(
    folder: NodeFolder,
) -> None:
    """From an empty data/ a swap leaves no previous folder: the store's record (no outputs)
    tells that data/ must be empty again."""
    empty = fingerprint_outputs(folder.data)
    staging = open_staging(folder, "run1")
    (staging / "new.txt").write_text("new")
    staging.rename(folder.data)  # swapped, and the intent lost
    undo(folder, "run1", empty)
    assert files(folder.data) == {}


def test_undo_keeps_outputs_the_store_records(folder: NodeFolder) -> None:
    (folder.data / "old.txt").write_text("old")
    recorded = fingerprint_outputs(folder.data)
    (open_staging(folder, "run1") / "new.txt").write_text("new")
    shutil.rmtree(folder.path / ".staging" / "run1")  # as if it never staged
    undo(folder, "run1", recorded)
    assert files(folder.data) == {"old.txt": "old"}


def test_undo_touches_only_its_own_node_run(folder: NodeFolder) -> None:
    """Another run of the node may be going on: its staging folder stays."""
    (open_staging(folder, "dead") / "half.txt").write_text("half")
    folder.data.mkdir()
    (open_staging(folder, "live") / "new.txt").write_text("new")
    undo(folder, "dead")
    assert files(folder.path / ".staging" / "live") == {"new.txt": "new"}


def test_leftovers_of_an_earlier_run_are_settled_when_the_node_runs_again(
    folder: NodeFolder,
) -> None:
    (folder.data / "old.txt").write_text("old")
    (open_staging(folder, "run1") / "new.txt").write_text("new")
    promote(folder, promotion("run1"))  # recorded, then a crash before it was tidied
    (folder.path / ".staging" / ".run1.promoting.0a1b.tmp").write_text("{")
    open_staging(folder, "run2")
    assert sorted(p.name for p in (folder.path / ".staging").iterdir()) == ["run2"]
    assert files(folder.data) == {"new.txt": "new"}


_PROMOTE_IN_A_CHILD = """
import sys
from pathlib import Path
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.output_swap import Promotion, finish_promotion, open_staging, promote
folder = NodeFolder(Path(sys.argv[1]))
staging = open_staging(folder, "run2")
for i in range(50):
    (staging / f"new{i}.txt").write_text("new")
promote(folder, Promotion("run", "run2", fingerprint_outputs(staging), "fingerprint"))
finish_promotion(folder, "run2")
"""

CRASH_POINTS = [
    "aside-written.promoting",
    "promote.intent-written",
    "promote.previous-aside",
    "promote.previous-removed",
]


@pytest.mark.parametrize("earlier", [False, True], ids=["first", "over-the-spare"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_kill_at_any_point_of_a_promotion_loses_neither_set_of_outputs(
    folder: NodeFolder, point: str, earlier: bool
) -> None:
    """A real SIGKILL at each step: afterwards data/ holds all the old outputs or all the new
    ones, and ``promoted`` says which, so the store can be told the truth. The node's first
    promotion writes its intent as a new file; a later one over the spare an earlier one
    left (``earlier``): a kill after it was written, before its rename, leaves no intent."""
    staging = open_staging(folder, "run1") if earlier else folder.data
    for i in range(50):
        (staging / f"old{i}.txt").write_text("old")
    if earlier:
        promote(folder, Promotion("run", "run1", fingerprint_outputs(staging), "f" * 500))
        finish_promotion(folder, "run1")
        assert (folder.path / INTENT_SPARE).is_file()
    child = subprocess.run(
        [sys.executable, "-c", _PROMOTE_IN_A_CHILD, str(folder.path)],
        env={**os.environ, "NODEPIPE_CRASH_AT": point},
        check=False,
    )
    assert child.returncode == -9, "the crash point was not reached"
    done = promoted(folder, "run2")
    if done is None:
        undo(folder, "run2")
        assert files(folder.data) == {f"old{i}.txt": "old" for i in range(50)}
    else:
        assert done.output_digest == fingerprint_outputs(folder.data)
        assert done.fingerprint == "fingerprint"
        finish_promotion(folder, "run2")
        assert files(folder.data) == {f"new{i}.txt": "new" for i in range(50)}
    assert list((folder.path / ".staging").iterdir()) == []
    expected_done = point not in {
        "aside-written.promoting",
        "promote.intent-written",
        "promote.previous-aside",
    }
    assert (done is not None) == expected_done


@pytest.mark.parametrize("old_outputs", [{}, {"old.txt": "old"}])
def test_a_leftover_staging_folder_is_replaced_by_a_fresh_one(
    folder: NodeFolder, old_outputs: dict[str, str]
) -> None:
    for name, text in old_outputs.items():
        (folder.data / name).write_text(text)
    (open_staging(folder, "run1") / "half.txt").write_text("half")  # and then a crash
    folder.data.mkdir(exist_ok=True)
    staging = open_staging(folder, "run1")
    assert files(staging) == {}
    assert files(folder.data) == old_outputs


def test_small_outputs_are_quick_to_settle_large_ones_are_not(folder: NodeFolder) -> None:
    """The local executor concludes small runs in its launcher thread; large outputs (to hash)
    or a large old data/ (to remove) go to a helper so no other node waits for them."""
    for i in range(10):
        (folder.data / f"old{i}.txt").write_text("old")
    staging = open_staging(folder, "run1")
    assert quick_to_settle(folder, "run1")
    (staging / "nested").mkdir()
    (staging / "nested" / "table.csv").write_bytes(b"x" * 1000)
    assert quick_to_settle(folder, "run1")
    (staging / "big.bin").write_bytes(b"x" * 2000)
    assert not quick_to_settle(folder, "run1", max_bytes=2500), "too much data to digest"
    (staging / "big.bin").unlink()
    assert quick_to_settle(folder, "run1", max_entries=12)
    assert not quick_to_settle(folder, "run1", max_entries=8), "too many old files to remove"
    assert not quick_to_settle(folder, "run1", max_entries=1), "too many new entries"
