"""The store's password never lands in nodepipe.toml, and the workspace's private files are
readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from support.postgres_server import PostgresServer

PASSWORD = "pw-Zq81xv"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def files_holding(root: Path, text: str) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and text.encode() in path.read_bytes()
    )


@pytest.mark.postgres
def test_init_keeps_the_password_in_a_private_file_only(
    tmp_path: Path,
    postgres_server: PostgresServer,
    fresh_postgres_url: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = fresh_postgres_url.rsplit("/", 1)[1]
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{postgres_server.port}/{database}"
    root = tmp_path / "lab"
    created = cli("init", str(root), "--db", url)
    assert created.code == 0, created.stderr
    secret = root / ".nodepipe" / "store-password"
    assert files_holding(root, PASSWORD) == [secret]
    assert secret.read_text().strip() == PASSWORD
    assert (mode(secret), mode(secret.parent)) == (0o600, 0o700)
    config = (root / "nodepipe.toml").read_text()
    assert f"postgres@127.0.0.1:{postgres_server.port}/{database}" in config
    assert mode(root / "nodepipe.toml") == 0o600
    monkeypatch.chdir(root)
    listed = cli("pipeline", "new", "baseline")
    assert listed.code == 0, listed.stderr
    assert PASSWORD not in created.stdout + created.stderr + listed.stdout + listed.stderr


def test_sqlite_workspace_files_are_private(tmp_path: Path, cli: CliRunner) -> None:
    root = tmp_path / "lab"
    assert cli("init", str(root)).code == 0
    state = root / ".nodepipe"
    store_files = [
        state / name for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm")
    ]
    with nodepipe.open(root) as ws:  # the WAL and shared-memory files exist while it is open
        ws.pipelines.new("baseline")
        assert [mode(path) for path in store_files] == [0o600, 0o600, 0o600]
    assert mode(state) == 0o700
    assert mode(root / "nodepipe.toml") == 0o600


def test_a_malformed_store_url_is_refused_and_makes_nothing(tmp_path: Path, cli: CliRunner) -> None:
    result = cli("init", str(tmp_path / "lab"), "--db", "mysql://root@localhost/x")
    assert result.code == 2
    assert "unsupported store URL" in result.stderr
    assert not (tmp_path / "lab").exists()
