"""A killed web server leaves no folder behind for long: the next server removes its fences.

The watcher of the node folders keeps its fences (``live.node_files``) in a folder of the temp
dir; a server killed with SIGKILL cannot remove it. The next server this OS user starts
removes the folders of servers that are gone, and only those: not a running server's, not
another user's, not anything else in the temp dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from api.live import server_process
from nodepipe.execution.recovery import process_start_time
from nodepipe.live.node_files import FENCES_PREFIX, remove_stale_fences
from support.waiting import wait_for


def _fences(temp: Path) -> list[Path]:
    return sorted(temp.glob(f"{FENCES_PREFIX}*"))


def test_a_killed_servers_fence_folder_is_removed_by_the_next_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    ws.close()
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the servers' temp dir, not the machine's

    with server_process(tmp_path / "lab", tmp_path / "killed.log") as killed:
        (left,) = wait_for(lambda: _fences(temp), "the first server's fence folder")
        os.kill(killed.pid, signal.SIGKILL)
    assert process_start_time(killed.pid) is None  # killed, and reaped
    assert _fences(temp) == [left]  # what a killed server leaves

    with server_process(tmp_path / "lab", tmp_path / "next.log") as running:
        (mine,) = wait_for(lambda: _fences(temp), "only the second server's fence folder")
        assert mine != left and f"{FENCES_PREFIX}{running.pid}-" in mine.name
        assert remove_stale_fences(temp) == []  # a running server's folder is kept
        assert mine.is_dir()
    assert _fences(temp) == []  # stopped as usual, it removed its own


def test_only_this_users_folders_of_dead_servers_are_removed(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    me = f"{os.getpid()}-{process_start_time(os.getpid())}"
    dead = tmp_path / f"{FENCES_PREFIX}{dead_pid}-12345-abcd"
    reused = tmp_path / f"{FENCES_PREFIX}{os.getpid()}-1-abcd"  # this pid, another start
    alive = tmp_path / f"{FENCES_PREFIX}{me}-abcd"
    theirs = tmp_path / f"{FENCES_PREFIX}{dead_pid}-12345-theirs"
    old_style = tmp_path / f"{FENCES_PREFIX}k2j4h5"
    for folder in (dead, reused, alive, theirs, old_style):
        folder.mkdir()
    (dead / "7").touch()
    os.chown(theirs, 65534, 65534)  # another OS user's (the suite runs as root, as CI does)
    a_file = tmp_path / f"{FENCES_PREFIX}{dead_pid}-12345-file"
    a_file.write_text("not a folder")
    a_link = tmp_path / f"{FENCES_PREFIX}{dead_pid}-12345-link"
    target = tmp_path / "elsewhere"
    target.mkdir()
    a_link.symlink_to(target)

    assert sorted(remove_stale_fences(tmp_path)) == sorted([dead, reused])
    assert not dead.exists() and not reused.exists()
    assert alive.is_dir() and theirs.is_dir() and old_style.is_dir()
    assert a_file.read_text() == "not a folder" and a_link.is_symlink() and target.is_dir()
