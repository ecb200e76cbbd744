"""What `nodepipe.toml` says, read as a user expects.

A store URL nodepipe cannot use, in `nodepipe.toml`, in `$NODEPIPE_DB_URL` or given to
`init --db`, is a clear error naming where it came from, its password masked; never a
traceback (a URL that was no string, a port that is no number, an unknown scheme or driver all
ended in one), and `init` makes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("5", "[store] url and [python] interpreter must be strings"),
        ('"bogus://x"', "the store URL 'bogus://x' is neither an SQLite nor a PostgreSQL one"),
        ('"sqlite://"', "the store URL 'sqlite://' is neither an SQLite nor a PostgreSQL one"),
        ('"postgresql://h:notaport/db"', "the store URL postgresql://h:notaport/db cannot be read"),
        ('"postgresql+nodriver://h/db"', "Can't load plugin: sqlalchemy.dialects:postgresql"),
    ],
)
def test_a_store_url_in_nodepipe_toml_that_cannot_be_used_is_named(
    lab: nodepipe.Workspace, cli: CliRunner, url: str, said: str
) -> None:
    config = lab.root / "nodepipe.toml"
    text = config.read_text()
    lab.close()
    kept = next(line for line in text.splitlines() if line.startswith("url = "))
    config.write_text(text.replace(kept, f"url = {url}"))
    for command in (["status", "p"], ["node", "show", "x"]):  # the light path and SQLAlchemy's
        refused = cli(*command)
        assert refused.code == 6, refused.stderr
        assert said in refused.stderr and "Traceback" not in refused.stderr


def test_a_store_url_from_the_environment_is_named_with_its_password_masked(
    lab: nodepipe.Workspace, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab.close()
    monkeypatch.setenv("NODEPIPE_DB_URL", "mysql://user:hunter2@db/lab")
    other = cli("status", "p")
    assert other.code == 6, other.stderr
    assert "$NODEPIPE_DB_URL: the store URL" in other.stderr
    monkeypatch.setenv("NODEPIPE_DB_URL", "postgresql://user:hunter2@db:port/lab")
    unreadable = cli("status", "p")
    assert unreadable.code == 6, unreadable.stderr
    assert "postgresql://user:***@db:port/lab cannot be read" in unreadable.stderr
    assert "hunter2" not in unreadable.stderr + unreadable.stdout


def test_init_with_a_store_url_it_cannot_use_makes_nothing(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NODEPIPE_DB_URL", raising=False)
    for url, said in (
        ("postgresql://user:hunter2@h:bad/db", "postgresql://user:***@h:bad/db is not a store"),
        ("postgresql+nodriver://h/db", "is not a store URL nodepipe can use"),
    ):
        refused = cli("init", str(tmp_path / "ws"), "--db", url)
        assert refused.code == 2, refused.stderr
        assert said in refused.stderr and "hunter2" not in refused.stderr
        assert not (tmp_path / "ws").exists()


def test_a_settings_file_saved_with_a_byte_order_mark_says_so(
    lab: nodepipe.Workspace, cli: CliRunner
) -> None:
    """Notepad saves UTF-8 with a byte-order mark; TOML has none, and tomllib said only
    "Invalid statement (at line 1, column 1)". Now the fix is named (uv reads such a
    pyproject.toml; nodepipe's TOML readers and writers do not)."""
    config = lab.root / "nodepipe.toml"
    lab.close()
    config.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    refused = cli("status", "p")
    assert refused.code == 6, refused.stderr
    assert f"cannot read {config}: it starts with a byte-order mark (BOM)" in refused.stderr
    assert "save it as UTF-8 without one" in refused.stderr
