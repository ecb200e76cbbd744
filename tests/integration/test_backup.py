"""`nodepipe backup`: a consistent copy while a run writes, private to its owner, and restored
with `nodepipe backup restore`, which keeps the store it replaces and waits for its users."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.domain.runs import RunStatus
from nodepipe.store.backup import pg_dump
from nodepipe.store.migrate import HEAD_REVISION
from nodepipe.store.store import Store
from support.other_user import other_user
from support.postgres_server import PostgresServer
from support.waiting import wait_for
from support.worlds import NodeSpec, build_pipeline

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
CHILDREN = 6
GATED = """\
import pathlib, time
import nodepipe_node as node
gate = pathlib.Path({gate!r})
(gate / "started").touch()
while not (gate / "release").exists():
    time.sleep(0.02)
(node.data_dir() / "out.txt").write_text("gated")
"""
QUICK = "import nodepipe_node as n\n(n.data_dir() / 'out.txt').write_text(n.tag())\n"


def rows_of(url: str) -> dict[str, Any]:
    """What a store holds, read through nodepipe's own store (which refuses a damaged one)."""
    store = Store.open(url)
    try:
        with store.read() as session:
            runs = session.list_runs()
            node_runs = [nr for run in runs for nr in session.node_runs_of_run(run.id)]
            return {
                "projects": sorted(p.name for p in session.list_projects()),
                "pipelines": sorted(p.tag for p in session.list_pipelines()),
                "nodes": sorted(n.tag for n in session.list_nodes()),
                "edges": len(session.all_edges()),
                "runs": runs,
                "node_runs": node_runs,
            }
    finally:
        store.close()


@pytest.fixture
def fan(lab: nodepipe.Workspace, tmp_path: Path) -> nodepipe.Workspace:
    """``gate`` (waits for tmp_path/gate/release) → six quick children."""
    (tmp_path / "gate").mkdir()
    gate = NodeSpec(code=GATED.format(gate=str(tmp_path / "gate")))
    children = {f"child{index}": NodeSpec(["gate"], code=QUICK) for index in range(CHILDREN)}
    build_pipeline(lab, "fan", {"gate": gate, **children})
    return lab


def test_backups_taken_while_a_run_writes_are_whole_stores(
    fan: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    gate = tmp_path / "gate"
    run = subprocess.Popen(
        [NODEPIPE, "run", "fan", "--json"], cwd=fan.root, stdout=subprocess.DEVNULL
    )
    backups: list[Path] = []
    try:
        wait_for((gate / "started").exists, "the gated node to start", 120)
        made = cli("backup", "--json")
        assert made.code == 0, made.stderr
        backups.append(Path(made.json()["path"]))
        (gate / "release").touch()
        while run.poll() is None:  # keep copying while the run records its nodes
            made = cli("backup", str(tmp_path), "--json")
            assert made.code == 0, made.stderr
            backups.append(Path(made.json()["path"]))
    finally:
        (gate / "release").touch()
        assert run.wait(timeout=300) == 0
    during = rows_of(f"sqlite:///{backups[0]}")
    assert during["nodes"] == sorted(["gate", *(f"child{i}" for i in range(CHILDREN))])
    assert during["edges"] == CHILDREN
    assert [r.status for r in during["runs"]] == [RunStatus.RUNNING]
    for backup in backups:
        copied = rows_of(f"sqlite:///{backup}")
        assert copied["nodes"] == during["nodes"] and copied["edges"] == CHILDREN
        run_ids = {r.id for r in copied["runs"]}
        assert {nr.run_id for nr in copied["node_runs"]} <= run_ids
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups[0].parent.stat().st_mode) == 0o700


def test_a_missing_store_names_the_newest_backup_which_restores_it(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    cli("backup")
    newest = Path(cli("backup", "--json").json()["path"])
    store = chain.context.layout.default_store_file
    chain.close()
    store.unlink()
    refused = cli("node", "list")
    assert refused.code == 6
    assert f"nodepipe backup restore {newest}" in refused.stderr
    restored = cli("backup", "restore", str(newest), "--json")
    assert restored.code == 0, restored.stderr
    assert restored.json()["previous"] is None
    listed = cli("node", "list", "--json")
    assert sorted(n["tag"] for n in listed.json()) == ["clean", "load", "plot"]


def test_backup_list_shows_each_copy_and_its_size(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    made = Path(cli("backup", "--json").json()["path"])
    listed = cli("backup", "list")
    assert listed.code == 0, listed.stderr
    header, _rule, *rows = listed.stdout.splitlines()
    assert header.split() == ["backup", "┃", "bytes"]
    assert [row.split() for row in rows] == [[str(made), "│", str(made.stat().st_size)]]


def test_restore_keeps_the_store_it_replaces(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    backup = Path(cli("backup", "--json").json()["path"])
    chain.pipelines.new("after-the-backup")
    chain.close()
    restored = cli("backup", "restore", str(backup), "--json")
    assert restored.code == 0, restored.stderr
    previous = Path(restored.json()["previous"])
    assert rows_of(f"sqlite:///{previous}")["pipelines"] == ["after-the-backup", "baseline"]
    assert rows_of(chain.context.store.url.render_as_string())["pipelines"] == ["baseline"]


def test_restore_is_refused_while_another_process_uses_the_store(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    backup = Path(cli("backup", "--json").json()["path"])
    chain.close()
    store = chain.context.layout.default_store_file
    # the holder writes, so its connection stays open (a read-only Workspace reads through
    # short-lived connections and holds no descriptor: its next read sees the restored store)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, nodepipe; ws = nodepipe.open(sys.argv[1]); ws.pipelines.new('held'); "
            "print('open', flush=True); sys.stdin.read()",
            str(chain.root),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = store.read_bytes()
        refused = cli("backup", "restore", str(backup))
        assert refused.code == 4
        assert f"pid {holder.pid}" in refused.stderr
        assert store.read_bytes() == before
    finally:
        holder.communicate("")
    assert cli("backup", "restore", str(backup)).code == 0


def test_restore_refuses_a_file_that_is_not_a_store(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"nothing like a database" * 100)
    chain.close()
    store = chain.context.layout.default_store_file
    before = store.read_bytes()
    refused = cli("backup", "restore", str(bogus))
    assert refused.code == 6
    assert f"the backup {bogus} is not an SQLite database" in refused.stderr
    assert store.read_bytes() == before


def test_restore_refuses_the_store_itself(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """Restoring the store over itself (named as it is, or through a link) was done: the file
    copied without its write-ahead log, the store kept aside as if replaced. It is refused,
    nothing changed."""
    chain.close()
    store = chain.context.layout.default_store_file
    link = tmp_path / "looks-like-a-backup.sqlite"
    link.symlink_to(store)
    before = sorted(p.name for p in store.parent.iterdir())
    for named in (store, link):
        refused = cli("backup", "restore", str(named))
        assert refused.code == 2, refused.stderr
        assert f"{named.absolute()} is this workspace's store itself" in refused.stderr
        assert sorted(p.name for p in store.parent.iterdir()) == before


@pytest.mark.postgres
def test_postgresql_backup_and_restore(
    tmp_path: Path, fresh_postgres_url: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = nodepipe.init(tmp_path / "lab", store_url=fresh_postgres_url)
    ws.pipelines.new("baseline")
    ws.close()
    monkeypatch.chdir(ws.root)
    made = cli("backup", "--json")
    assert made.code == 0, made.stderr
    dump = Path(made.json()["path"])
    assert dump.suffix == ".pgdump" and stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert cli("pipeline", "new", "after-the-backup").code == 0
    restored = cli("backup", "restore", str(dump), "--json")
    assert restored.code == 0, restored.stderr
    assert rows_of(fresh_postgres_url)["pipelines"] == ["baseline"]
    kept = Path(restored.json()["previous"])
    assert kept.parent == dump.parent and kept.suffix == ".pgdump"


@pytest.mark.postgres
def test_postgresql_restore_refuses_a_dump_this_version_cannot_open(
    tmp_path: Path,
    fresh_postgres_url: str,
    postgres_server: PostgresServer,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dump of a newer nodepipe's store, of another database or of nothing at all is refused
    before anything is dumped or restored: the store and the backups folder stay as they were."""
    ws = nodepipe.init(tmp_path / "lab", store_url=fresh_postgres_url)
    ws.pipelines.new("baseline")
    ws.close()
    monkeypatch.chdir(ws.root)
    newer = tmp_path / "newer.pgdump"
    with psycopg.connect(fresh_postgres_url.replace("postgresql+psycopg", "postgresql")) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    pg_dump(fresh_postgres_url, newer)
    with psycopg.connect(fresh_postgres_url.replace("postgresql+psycopg", "postgresql")) as db:
        db.execute("UPDATE alembic_version SET version_num = %s", (HEAD_REVISION,))
    other = tmp_path / "other.pgdump"
    pg_dump(postgres_server.url("postgres"), other)
    garbage = tmp_path / "garbage.pgdump"
    garbage.write_bytes(b"not a dump" * 100)
    backups = ws.context.layout.backups_dir
    before = rows_of(fresh_postgres_url)
    refusals = {
        newer: f"the backup {newer} is at schema 9999, which this nodepipe ({HEAD_REVISION})",
        other: f"the backup {other} is not a dump of a nodepipe store",
        garbage: f"the backup {garbage} is not a PostgreSQL dump",
    }
    for dump, message in refusals.items():
        refused = cli("backup", "restore", str(dump))
        assert refused.code == 6, refused.stderr
        assert message in refused.stderr
        assert rows_of(fresh_postgres_url) == before
        assert not backups.exists() or not any(backups.iterdir())
    assert cli("status", "baseline").code == 0


def test_a_destination_or_backup_that_is_not_there_is_bad_input(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """Both exited 3, as if a name (of a node, a pipeline) were unknown."""
    missing = tmp_path / "nowhere" / "deeper"
    refused = cli("backup", str(missing / "store.sqlite"))
    assert refused.code == 2
    assert f"no folder {missing} to write the backup in: make it first" in refused.stderr
    assert not (tmp_path / "nowhere").exists()
    assert not chain.context.layout.backups_dir.exists()
    restored = cli("backup", "restore", str(missing / "store.sqlite"))
    assert (restored.code, restored.stderr.strip()) == (
        2,
        f"error: no backup file {missing / 'store.sqlite'}",
    )


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user may write in, sticky, as ``/tmp`` is."""
    folder = Path(tempfile.mkdtemp(prefix="nodepipe-shared-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder)


def test_links_another_user_planted_beside_a_backup_in_a_shared_folder_are_not_followed(
    chain: nodepipe.Workspace,
    shared_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the copy was written as ``.NAME.<8 hex>.tmp`` beside the destination, and SQLite
    its ``-journal`` beside that: a link another user planted under those names (names they can
    watch for, or guess: here the hex is made predictable) made the backup fail ("File
    exists"; for the ``-journal`` alone, "unable to open database file", the link followed).
    Now the copy is made in a private folder nodepipe creates (0700) there, then renamed into
    place; a leftover-looking name another user owns is not removed either."""
    user = other_user()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    destination = shared_folder / "lab.sqlite"
    random_bytes = os.urandom
    monkeypatch.setattr(os, "urandom", lambda n: b"\0" * n if n == 4 else random_bytes(n))
    guessed = shared_folder / f".{destination.name}.00000000.tmp"
    planted = []
    for suffix in ("", "-journal", "-wal", "-shm"):
        link = Path(f"{guessed}{suffix}")
        link.symlink_to(elsewhere / f"theirs{suffix}")
        os.lchown(link, user.uid, user.gid)
        planted.append(link)
    made = shared_folder / ".store-planted.tmp"  # looks like a killed backup's leftover
    made.symlink_to(elsewhere / "theirs-leftover")
    os.lchown(made, user.uid, user.gid)
    planted.append(made)

    backup = chain.backup(destination)

    assert backup.path == destination
    assert rows_of(f"sqlite:///{destination}")["pipelines"] == ["baseline"]
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    assert list(elsewhere.iterdir()) == [], "a planted link was followed"
    assert all(link.is_symlink() for link in planted), "another user's file was removed"
    left = {p.name for p in shared_folder.iterdir()} - {p.name for p in planted}
    assert left == {destination.name}, "the private folder of the copy is left behind"


def backing_up_slowly(root: Path, *destination: str) -> subprocess.Popen[str]:
    """``nodepipe backup [DEST]`` in a process of its own that waits three seconds between
    writing its copy and renaming it into place (pause point ``backup.written``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env["NODEPIPE_PAUSE_AT"] = "backup.written:3"
    return subprocess.Popen(
        [NODEPIPE, "-w", str(root), "backup", *destination, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def copy_being_written(folder: Path) -> Path:
    """The copy in the private folder of the backup under way in ``folder``."""
    copies = list(folder.glob(".store-*.tmp/*.sqlite"))
    assert len(copies) <= 1, copies
    return copies[0] if copies else Path()


def test_a_file_planted_at_the_destination_while_the_backup_is_written_is_never_replaced(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    destination = shared / "tonight.sqlite"
    backing_up = backing_up_slowly(lab.root, str(destination))
    wait_for(lambda: copy_being_written(shared).name, "the copy to be written")
    destination.write_text("another user's file")  # after the command found the name free
    out, err = backing_up.communicate(timeout=60)
    assert backing_up.returncode == 4, (out, err)
    assert f"{destination} appeared while the backup was written" in err
    assert "it was left as it is and no backup was made" in err
    assert destination.read_text() == "another user's file"
    assert sorted(p.name for p in shared.iterdir()) == ["tonight.sqlite"]  # no copy left


def test_a_timestamped_name_taken_while_the_backup_is_written_moves_on_to_the_next(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    backing_up = backing_up_slowly(lab.root, str(folder))
    name = wait_for(lambda: copy_being_written(folder).name, "the copy to be written")
    (folder / name).write_text("another backup's file")  # as another one in the same second
    out, err = backing_up.communicate(timeout=60)
    assert backing_up.returncode == 0, err
    made = Path(json.loads(out)["path"])
    assert made == folder / name.replace(".sqlite", "-2.sqlite")
    assert rows_of(f"sqlite:///{made}")["nodes"] == []
    assert (folder / name).read_text() == "another backup's file"
    assert sorted(p.name for p in folder.iterdir()) == sorted([name, made.name])
