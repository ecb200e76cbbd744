"""Engine settings, the only place where SQLite and PostgreSQL differ.

SQLite: WAL journal with full sync (a commit is on disk when it returns), foreign keys on, a
busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so that two processes writing at
once queue instead of failing. The file is opened
in ``rw`` mode, so connecting never creates it: only ``create=True`` (``nodepipe init``,
``doctor --rebuild``) makes a new store file, and then with mode 0600 (its WAL and shared-memory
files get the same mode from SQLite).
PostgreSQL: every write transaction first takes one transaction-scoped advisory lock, so
graph-wide checks (cycles, ownership) see a stable graph while they decide (read committed: each
statement after the lock sees every commit before it, and no other writer commits meanwhile). A
read transaction is ``REPEATABLE READ``: all its queries see one snapshot, as on SQLite, so a
read never sees a node another process deleted between two of its queries half gone (the web
app's node details answered 500 then).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from nodepipe.store.health import sqlite_file

WRITE_OPTION = "nodepipe_write"
_PG_WRITE_LOCK_KEY = 7_316_102_531
_PG_CONNECT_TIMEOUT_S = 10
STORE_FILE_MODE = 0o600


def create_store_engine(url: str, *, create: bool = False) -> sa.Engine:
    """An engine for ``url`` configured for nodepipe's transaction discipline.

    An SQLite file must exist unless ``create`` is set.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, create)
    if url.startswith("postgresql"):
        return _postgresql_engine(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql+psycopg://")


def _sqlite_engine(url: str, create: bool) -> sa.Engine:
    path = sqlite_file(url)
    if path is None:
        raise ValueError(f"the SQLite store URL {url!r} names no file")
    if create:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, STORE_FILE_MODE)
        os.close(descriptor)
    uri = f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    engine = sa.create_engine(url, creator=connect)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk when it returns, so old outputs removed after the store
        # recorded new ones are never the only record lost to a power cut (WAL + NORMAL
        # keeps the database consistent but may drop the last commits)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def _postgresql_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S}
    )

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION, False):
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_WRITE_LOCK_KEY})")
        else:  # one snapshot for the whole read, as SQLite's: never half of another's commit
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    return engine
