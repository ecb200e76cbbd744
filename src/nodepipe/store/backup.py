"""Consistent copies of a store, checking one, and putting one back (the database side).

SQLite: the online backup API copies every page within one read transaction, so the copy is
one committed state even while other processes write (in WAL mode readers and writers do not
block each other). The copy is made self-contained (no WAL) and checked (``quick_check``).
PostgreSQL: ``pg_dump`` in its custom format, put back with ``pg_restore`` in one transaction.
The password reaches them through ``PGPASSWORD`` in their environment, never on a command line.
Naming, flushing and renaming the files is the caller's (``services.backup``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from nodepipe.domain.errors import StorageError, WorkspaceError
from nodepipe.domain.url_credentials import text_without_password
from nodepipe.store.health import sqlite_file_problem
from nodepipe.store.migrate import HEAD_REVISION

PG_BIN_DIRS = Path("/usr/lib/postgresql")
"""Where Debian installs each PostgreSQL version's programs (``15/bin/pg_dump``)."""
BACKUP_FILE_MODE = 0o600


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy the SQLite store ``source`` into the new file ``target`` (mode 0600), checked."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_FILE_MODE)
    os.close(descriptor)
    uri = f"{source.absolute().as_uri()}?mode=rw"
    with (
        contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as origin,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        _quick_check(copy, target)


def check_sqlite_backup(path: Path) -> str:
    """Refuse a file that is not a sound nodepipe store this version can open; returns its
    schema revision."""
    problem = sqlite_file_problem(path)
    if problem is not None:
        raise WorkspaceError(f"the backup {path} {problem.detail}")
    uri = f"{path.absolute().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            _quick_check(connection, path)
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise WorkspaceError(f"the backup {path} is not a nodepipe store ({error})") from error
    revision = str(row[0]) if row else ""
    _check_revision(path, revision)
    return revision


def check_pg_backup(path: Path) -> str:
    """Refuse a file that is not a ``pg_dump`` of a nodepipe store this version can open, read
    with ``pg_restore`` alone (no database is touched); returns its schema revision."""
    command = [str(find_pg_tool("pg_restore")), "--data-only", "--table=alembic_version"]
    result = subprocess.run(
        [*command, "--file=-", str(path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise WorkspaceError(f"the backup {path} is not a PostgreSQL dump ({reason})")
    revision = _dumped_revision(result.stdout.splitlines())
    if not revision:
        raise WorkspaceError(
            f"the backup {path} is not a dump of a nodepipe store (it holds no schema revision)"
        )
    _check_revision(path, revision)
    return revision


def _dumped_revision(script: list[str]) -> str:
    """The row of ``alembic_version`` in a dump's data script; empty when it has none."""
    for index, line in enumerate(script):
        if line.startswith("COPY ") and ".alembic_version " in line:
            rows = script[index + 1 : index + 3]
            return rows[0].strip() if len(rows) == 2 and rows[1] == "\\." else ""
    return ""


def _check_revision(path: Path, revision: str) -> None:
    if not revision or revision > HEAD_REVISION:
        raise WorkspaceError(
            f"the backup {path} is at schema {revision or 'none'}, which this nodepipe "
            f"({HEAD_REVISION}) cannot open"
        )


def _quick_check(connection: sqlite3.Connection, path: Path) -> None:
    found = [row[0] for row in connection.execute("PRAGMA quick_check")]
    if found != ["ok"]:
        raise WorkspaceError(f"the copy {path} is damaged: {'; '.join(found[:3])}")


def pg_dump(url: str, target: Path) -> None:
    """Dump the PostgreSQL store at ``url`` into the new file ``target`` (mode 0600)."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_FILE_MODE)
    os.close(descriptor)
    _pg_tool("pg_dump", url, ["--format=custom", "--no-owner", f"--file={target}"], "back up")


def pg_restore(url: str, source: Path) -> None:
    """Replace the contents of the PostgreSQL store at ``url`` with the dump ``source``, in one
    transaction: if anything fails, the database is as it was."""
    options = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    _pg_tool("pg_restore", url, [*options, str(source)], "restore")


def pg_other_sessions(url: str) -> list[str]:
    """Programs connected to the store's database besides the caller (``psql (pid 12)``)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT pid, application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).all()
    finally:
        engine.dispose()
    return [f"{name or 'a client'} (pid {pid})" for pid, name in rows]


def _pg_tool(name: str, url: str, options: list[str], action: str) -> None:
    parsed = sa.engine.make_url(url)
    target = sa.engine.URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
    ).render_as_string(hide_password=False)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    command = [str(find_pg_tool(name)), f"--dbname={target}", "--no-password", *options]
    result = subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()
        reason = message[-1] if message else f"exit {result.returncode}"
        reason = text_without_password(reason, parsed.password and str(parsed.password))
        raise StorageError(f"{name} could not {action} the store: {reason}")


def find_pg_tool(name: str) -> Path:
    """``name`` on PATH, else in the newest ``/usr/lib/postgresql/*/bin``."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = sorted(
        PG_BIN_DIRS.glob(f"*/bin/{name}"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise StorageError(
            f"{name} was found neither on PATH nor in {PG_BIN_DIRS}/*/bin; install PostgreSQL's "
            "client programs (Debian: apt-get install postgresql-client)"
        )
    return candidates[-1]
