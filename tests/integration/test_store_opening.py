"""A missing, emptied or damaged store is an error naming the file and the way out; opening a
workspace never makes a new store, and a store that breaks mid-command is no traceback."""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

import nodepipe
from integration.conftest import CliRunner
from nodepipe.store.store import Store
from support.postgres_server import PostgresServer

WORKSPACE_ERROR = 6
COMMANDS = [("status", "baseline"), ("pipeline", "list"), ("node", "list")]


def delete(store: Path) -> None:
    store.unlink()


def empty(store: Path) -> None:
    os.truncate(store, 0)


def truncate(store: Path) -> None:
    os.truncate(store, store.stat().st_size // 2)


def garbage_header(store: Path) -> None:
    with store.open("r+b") as handle:
        handle.write(b"not a database, just some bytes" * 200)


def garbage_pages(store: Path) -> None:
    """The header kept, every page after the first overwritten."""
    size = store.stat().st_size
    with store.open("r+b") as handle:
        handle.seek(4096)
        handle.write(bytes(range(256)) * ((size - 4096) // 256 + 1))


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "deleted": (delete, "is missing"),
    "emptied": (empty, "is empty (0 bytes)"),
    "truncated": (truncate, "is truncated"),
    "garbage-header": (garbage_header, "is not an SQLite database"),
    "garbage-pages": (garbage_pages, "is damaged (database disk image is malformed)"),
}


def checkpointed_store(ws: nodepipe.Workspace) -> Path:
    """The store file, with everything in it (no WAL left) and no connection of ours open."""
    store = ws.context.layout.default_store_file
    with ws.context.store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    ws.close()
    return store


def state_of(store: Path) -> tuple[bool, bytes]:
    return store.exists(), store.read_bytes() if store.exists() else b""


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_command_refuses_a_damaged_store_and_recreates_nothing(
    chain: nodepipe.Workspace, cli: CliRunner, damage: str
) -> None:
    store = checkpointed_store(chain)
    harm, problem = DAMAGES[damage]
    harm(store)
    before = state_of(store)
    for command in COMMANDS:
        result = cli(*command)
        assert result.code == WORKSPACE_ERROR, (command, result.stderr)
        assert f"the store {store} {problem}" in result.stderr, result.stderr
        assert "nodepipe doctor --rebuild" in result.stderr
        assert "nodepipe backup restore" in result.stderr
        assert "Traceback" not in result.stderr
        assert state_of(store) == before


def cut_checkpoint_short(store: Path) -> None:
    """What a checkpoint killed midway leaves: the newest first page from the write-ahead log
    written into the file (its header declaring the grown size), the pages that grow the file
    not yet; the log still whole."""
    page_size = int.from_bytes(store.read_bytes()[16:18], "big")
    log = (store.parent / f"{store.name}-wal").read_bytes()
    first_page = None
    for frame in range(32, len(log) - 24 - page_size + 1, 24 + page_size):
        if int.from_bytes(log[frame : frame + 4], "big") == 1:
            first_page = log[frame + 24 : frame + 24 + page_size]
    assert first_page is not None, "the log holds no first page"
    with store.open("r+b") as handle:
        handle.write(first_page)


def test_a_checkpoint_cut_short_is_no_damage(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    """A kill or a power cut in a checkpoint can leave the store shorter than its header says
    while its log holds the rest (seen after a kill at random in a run's last checkpoint):
    every command works, with everything the store held, and nothing is called damaged."""
    store = checkpointed_store(chain)
    reader = sqlite3.connect(store)  # its snapshot keeps checkpoints from copying what follows
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchall()
        grown = nodepipe.open(chain.root)
        notes = "a long note " * 40_000  # hundreds of pages more, in the log only
        grown.nodes.notes("load", notes, "baseline")
        grown.close()
        cut_checkpoint_short(store)
        header = store.read_bytes()[:100]
        declared = int.from_bytes(header[16:18], "big") * int.from_bytes(header[28:32], "big")
        assert store.stat().st_size < declared, "the test did not make the store look cut"

        for command in COMMANDS:
            result = cli("-w", str(chain.root), *command)
            assert result.code == 0, (command, result.stderr)
        reopened = nodepipe.open(chain.root)
        try:
            assert reopened.nodes.get("load", "baseline").notes == notes
        finally:
            reopened.close()
    finally:
        reader.close()


def test_the_python_api_refuses_a_missing_store_too(chain: nodepipe.Workspace) -> None:
    store = checkpointed_store(chain)
    store.unlink()
    with pytest.raises(nodepipe.WorkspaceError, match="is missing"):
        nodepipe.open(chain.root)
    assert not store.exists()


def test_a_store_damaged_while_open_is_a_workspace_error(chain: nodepipe.Workspace) -> None:
    store = checkpointed_store(chain)
    reopened = nodepipe.open(chain.root)
    try:
        garbage_pages(store)
        with pytest.raises(nodepipe.WorkspaceError, match="is damaged"):
            reopened.pipelines.list()
    finally:
        reopened.close()


@pytest.mark.postgres
def test_a_postgresql_database_without_tables_is_refused_and_left_empty(
    tmp_path: Path, fresh_postgres_url: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = nodepipe.init(tmp_path / "lab", store_url=fresh_postgres_url)
    ws.close()
    with sa.create_engine(fresh_postgres_url).begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    monkeypatch.chdir(tmp_path / "lab")
    result = cli("pipeline", "list")
    assert result.code == WORKSPACE_ERROR
    assert "holds no nodepipe tables" in result.stderr
    assert "nodepipe doctor --rebuild" in result.stderr
    engine = sa.create_engine(fresh_postgres_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_an_unreachable_server_is_named_without_the_password(
    tmp_path: Path,
    postgres_server: PostgresServer,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "unreachable_" + tmp_path.name.replace("-", "_")[-20:]
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql+psycopg://postgres:s3cr3t-pw@127.0.0.1:{postgres_server.port}/{name}"
    nodepipe.init(tmp_path / "lab", store_url=url).close()
    with closed_port() as port:
        moved = f"postgresql+psycopg://postgres:s3cr3t-pw@127.0.0.1:{port}/{name}"
        monkeypatch.setenv("NODEPIPE_DB_URL", moved)
        monkeypatch.chdir(tmp_path / "lab")
        result = cli("pipeline", "list")
    assert result.code == WORKSPACE_ERROR
    assert f"postgres@127.0.0.1:{port}/{name} cannot be reached" in result.stderr
    assert "s3cr3t-pw" not in result.stderr + result.stdout


@pytest.mark.postgres
def test_a_short_password_masks_no_word_of_the_message(
    tmp_path: Path,
    postgres_server: PostgresServer,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With password ``p`` the server's own words stay whole ("port 9 failed", not
    "***ort 9 failed")."""
    name = "short_pw_" + tmp_path.name.replace("-", "_")[-20:]
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgresql+psycopg://postgres:p@127.0.0.1:{postgres_server.port}/{name}"
    nodepipe.init(tmp_path / "lab", store_url=url).close()
    with closed_port() as port:
        monkeypatch.setenv("NODEPIPE_DB_URL", url.replace(str(postgres_server.port), str(port)))
        monkeypatch.chdir(tmp_path / "lab")
        result = cli("pipeline", "list")
    assert result.code == WORKSPACE_ERROR
    assert f"port {port} failed" in result.stderr
    assert "***" not in result.stderr and ":p@" not in result.stderr + result.stdout


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound without listening, so none can take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


def test_store_open_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "store.sqlite"
    with pytest.raises(nodepipe.WorkspaceError, match="is missing"):
        Store.open(f"sqlite:///{missing}")
    assert not missing.exists()


def test_init_records_the_store_it_made_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    """With $NODEPIPE_DB_URL set and no --db, the store made is the one nodepipe.toml names:
    the workspace still opens once the variable is gone."""
    elsewhere = tmp_path / "elsewhere.sqlite"
    monkeypatch.setenv("NODEPIPE_DB_URL", f"sqlite:///{elsewhere}")
    assert cli("init", str(tmp_path / "lab")).code == 0
    assert elsewhere.is_file()
    monkeypatch.delenv("NODEPIPE_DB_URL")
    assert cli("-w", str(tmp_path / "lab"), "project", "list").code == 0
    assert not (tmp_path / "lab" / ".nodepipe" / "store.sqlite").exists()


@pytest.mark.parametrize("name", ["a%20b", "100%", "run?1#x", "caf%C3%A9"])
def test_a_workspace_in_a_folder_whose_name_a_url_would_read_is_made_and_opened(
    tmp_path: Path, cli: CliRunner, name: str
) -> None:
    """`nodepipe init a%20b` failed ("No such file or directory (…/a b/.nodepipe/store.sqlite)"):
    the folder went into the store's URL as it was, and the URL read %20 as a space, ?
    as a query and # as a fragment (found by the CLI fuzzer, with %00)."""
    folder = tmp_path / name
    made = cli("init", str(folder))
    assert made.code == 0, made.stderr
    assert cli("-w", str(folder), "pipeline", "new", "p").code == 0
    shown = cli("-w", str(folder), "status", "p", "--json")
    assert shown.code == 0, shown.stderr
    assert (folder / ".nodepipe" / "store.sqlite").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no folder a URL made up
    with nodepipe.open(folder) as ws:
        assert [p.tag for p in ws.pipelines.list()] == ["p"]
