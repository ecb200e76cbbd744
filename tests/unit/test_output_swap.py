"""Outputs are swapped in whole: data/ holds the old outputs or the new ones, never a mix."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.output_swap import discard, open_staging, promote, quick_to_settle, repair


@pytest.fixture
def folder(tmp_path: Path) -> NodeFolder:
    node = NodeFolder(tmp_path / "node")
    node.make_output_dirs()
    return node


def files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def test_new_outputs_replace_old_ones_on_success(folder: NodeFolder) -> None:
    (folder.data / "old.txt").write_text("old")
    staging = open_staging(folder, "run1")
    assert files(folder.data) == {"old.txt": "old"}  # untouched while the run goes on
    (staging / "new.txt").write_text("new")
    promote(folder, "run1")
    assert files(folder.data) == {"new.txt": "new"}
    assert list((folder.path / ".staging").iterdir()) == []


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
    promote(folder, "run2")
    assert files(folder.data) == {"new.txt": "new"}


def test_repair_after_a_crash_mid_run_gives_back_an_empty_data_folder(folder: NodeFolder) -> None:
    (open_staging(folder, "run1") / "half.txt").write_text("half")
    repair(folder)
    assert folder.data.is_dir() and files(folder.data) == {}
    assert list((folder.path / ".staging").iterdir()) == []


def test_repair_restores_outputs_set_aside_by_an_interrupted_swap(folder: NodeFolder) -> None:
    (folder.data / "old.txt").write_text("old")
    (open_staging(folder, "run1") / "new.txt").write_text("new")
    folder.data.rename(folder.path / ".staging" / "run1.previous")  # crash between the renames
    repair(folder)
    assert files(folder.data) == {"old.txt": "old"}


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
