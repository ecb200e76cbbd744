"""Kill -9 at each step of ``nodepipe backup restore``: a whole store stays in place.

The store it replaces holds a transaction only in its write-ahead log (a process killed after
committing it left the log behind). ``backup restore`` runs as a real process and is killed at
each crash point on its path; then the next command must open the workspace on the old store,
whole (the transaction in its log included), ``doctor`` must find nothing, and restoring again
must put the backup in place and leave no copy of it behind, every store kept aside whole.
A ``backup`` killed while it writes its copy leaves it under its temporary name, which the next
backup removes.
"""

from __future__ import annotations

import json
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from nodepipe.store.store import Store
from support.cli_process import nodepipe_process

BEFORE = ["after-the-backup", "baseline", "in-the-log"]
"""The pipelines of the store the restore replaces."""
BACKED_UP = ["baseline"]
COMMIT_THEN_DIE = """\
import os, signal, sys
import nodepipe
nodepipe.open(sys.argv[1]).pipelines.new("in-the-log")
os.kill(os.getpid(), signal.SIGKILL)
"""


def nodepipe_cli(root: Path, *argv: str, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    return nodepipe_process(root, *argv, crash_at=crash_at)


def pipelines_in(store: Path) -> list[str]:
    opened = Store.open(f"sqlite:///{store}")
    try:
        with opened.read() as session:
            return sorted(p.tag for p in session.list_pipelines())
    finally:
        opened.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a backup holding ``baseline``, then two pipelines more, the last one
    committed by a process killed before SQLite moved it from the log into the database."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("baseline")
    made = nodepipe_cli(root, "backup")
    assert made.returncode == 0, made.stderr
    ws.pipelines.new("after-the-backup")
    ws.close()
    died = subprocess.run(
        [sys.executable, "-c", COMMIT_THEN_DIE, str(root)], capture_output=True, check=False
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    wal = root / ".nodepipe" / "store.sqlite-wal"
    assert wal.stat().st_size > 0, "the last transaction should be in the log only"
    return root


@pytest.mark.parametrize("point", ["restore.staged", "restore.kept-aside", "restore.log-removed"])
def test_a_restore_killed_at_each_step_leaves_the_old_store_whole(
    template: Path, tmp_path: Path, point: str
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    (backup,) = (root / ".nodepipe" / "backups").iterdir()

    killed = nodepipe_cli(root, "backup", "restore", str(backup), crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    listed = nodepipe_cli(root, "pipeline", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(p["tag"] for p in json.loads(listed.stdout)) == BEFORE
    doctor = nodepipe_cli(root, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    restored = nodepipe_cli(root, "backup", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    store = root / ".nodepipe" / "store.sqlite"
    assert pipelines_in(store) == BACKED_UP
    assert not list(store.parent.glob(".store.sqlite.*.tmp")), "a copy of the backup is left"
    kept = sorted(store.parent.glob("store-replaced-*.sqlite"))
    assert kept, "the replaced store is kept"
    assert all(pipelines_in(aside) == BEFORE for aside in kept)


@pytest.mark.parametrize("where", ["default", "named-folder"])
def test_a_copy_a_killed_backup_left_is_removed_by_the_next_backup(
    template: Path, tmp_path: Path, where: str
) -> None:
    """The copy is written in a private folder (0700) beside the destination; a kill leaves
    that folder, which the next backup to the same folder removes."""
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    backups = root / ".nodepipe" / "backups"
    argv = ["backup"]
    if where == "named-folder":
        backups = tmp_path / "copies"
        backups.mkdir()
        backups.chmod(0o1777)  # a shared folder, as /tmp is
        argv.append(str(backups))
    before = sorted(p.name for p in backups.iterdir())

    killed = nodepipe_cli(root, *argv, crash_at="aside-written.sqlite")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (left,) = backups.glob(".store-*.tmp")  # the kill leaves the copy it was writing
    assert left.is_dir() and stat.S_IMODE(left.stat().st_mode) == 0o700
    assert next(p.name for p in left.iterdir()).startswith("store-")

    made = nodepipe_cli(root, *argv, "--json")
    assert made.returncode == 0, made.stderr
    assert not list(backups.glob(".store-*.tmp")), "a cut-short copy of the store is left"
    made_path = Path(json.loads(made.stdout)["path"])
    assert sorted(p.name for p in backups.iterdir()) == sorted([*before, made_path.name])
    assert pipelines_in(made_path) == BEFORE
