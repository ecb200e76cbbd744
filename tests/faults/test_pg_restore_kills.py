"""Kill -9 at each step of ``nodepipe backup restore`` on a PostgreSQL store.

The restore first dumps the store it replaces into ``.nodepipe/backups`` (written aside, then
renamed), then runs ``pg_restore`` in one transaction. Killed while writing that dump, or
after it and before ``pg_restore``, the store is as it was and ``doctor`` finds nothing; the
dump it finished is whole (restoring it gives the store back); the next restore succeeds and
removes the copy a kill cut short (before, only the next ``backup`` did). Killed with
``pg_restore`` (the whole process group) while it restores, the store is the old one or the
backup, whole, never a mix.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import nodepipe
from nodepipe.store.store import Store
from support.cli_process import NODEPIPE, nodepipe_process

BEFORE = ["after-the-backup", "baseline"]
BACKED_UP = ["baseline"]


def pipelines(url: str) -> list[str]:
    store = Store.open(url)
    try:
        with store.read() as session:
            return sorted(p.tag for p in session.list_pipelines())
    finally:
        store.close()


def workspace_with_backup(root: Path, url: str) -> Path:
    """``baseline`` backed up, then ``after-the-backup`` made; returns the backup."""
    ws = nodepipe.init(root, store_url=url)
    ws.pipelines.new("baseline")
    ws.close()
    made = nodepipe_process(root, "backup", "--json")
    assert made.returncode == 0, made.stderr
    assert nodepipe_process(root, "pipeline", "new", "after-the-backup").returncode == 0
    return Path(json.loads(made.stdout)["path"])


@pytest.mark.postgres
@pytest.mark.parametrize("point", ["aside-written.pgdump", "restore.dumped"])
def test_a_postgresql_restore_killed_before_pg_restore_leaves_the_store_as_it_was(
    tmp_path: Path, fresh_postgres_url: str, point: str
) -> None:
    root = tmp_path / "lab"
    backup = workspace_with_backup(root, fresh_postgres_url)
    backups = backup.parent

    killed = nodepipe_process(root, "backup", "restore", str(backup), crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert pipelines(fresh_postgres_url) == BEFORE
    doctor = nodepipe_process(root, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    dumped = sorted(set(backups.glob("store-*.pgdump")) - {backup})
    assert len(dumped) == (1 if point == "restore.dumped" else 0)
    assert len(list(backups.glob(".store-*.tmp"))) == (1 if point.startswith("aside") else 0)

    restored = nodepipe_process(root, "backup", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert pipelines(fresh_postgres_url) == BACKED_UP
    assert not list(backups.glob(".store-*.tmp")), "the dump a kill cut short is left"
    for kept in dumped:  # what the killed restore dumped is whole: it restores
        back = nodepipe_process(root, "backup", "restore", str(kept))
        assert back.returncode == 0, back.stderr
        assert pipelines(fresh_postgres_url) == BEFORE


def _child_named(pid: int, name: str) -> bool:
    """Whether a process named ``name`` runs with parent ``pid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            command = fields[0].split("(", 1)[1]
            parent = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and command == name:
            return True
    return False


@pytest.mark.postgres
def test_a_postgresql_restore_killed_with_pg_restore_leaves_one_whole_store(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    root = tmp_path / "lab"
    backup = workspace_with_backup(root, fresh_postgres_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    restoring = subprocess.Popen(
        [NODEPIPE, "-w", str(root), "backup", "restore", str(backup)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while restoring.poll() is None and time.monotonic() < deadline:
        if _child_named(restoring.pid, "pg_restore"):
            break
        time.sleep(0.002)
    os.killpg(restoring.pid, signal.SIGKILL)
    restoring.wait()

    assert pipelines(fresh_postgres_url) in (BEFORE, BACKED_UP)
    doctor = nodepipe_process(root, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    restored = nodepipe_process(root, "backup", "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert pipelines(fresh_postgres_url) == BACKED_UP
