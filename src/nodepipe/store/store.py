"""``Store``: the metadata store's entry point, handing out read and write transactions.

``Store.create`` makes a new store (``nodepipe init``); ``Store.open`` only opens one that
exists and holds nodepipe's tables, and refuses with a ``WorkspaceError`` otherwise.

Two read paths: ``read()`` is a transaction of SQLAlchemy Core queries (``StoreSession``: every
query nodepipe makes), ``light_read()`` answers the queries of ``status``, a no-change ``run`` and
the plain read commands (``light_read.LightReads``), on an SQLite store through the standard
library's ``sqlite3``; likewise ``run_write()`` is the write transaction of a run's claim and
progress (``light_write.RunWrites``), and ``edge_write()`` that of ``connect`` and ``disconnect``
(``light_edges.EdgeWrites``). SQLAlchemy is imported, and the engine made, on the first ``read()``
or ``write()``, or on opening a PostgreSQL store or an SQLite store that needs a migration: neither
those commands nor a run on a current SQLite store imports it.

An SQLite store keeps one connection open from ``open`` (or ``create``) to ``close``: the
*keeper*, which reads the schema revision and then only stays open. SQLite checkpoints a WAL
database (copies the log into the file, flushes both and deletes the log) whenever the last
connection to it closes; every session here has a connection of its own, so without the keeper
each of a run's transactions (its claim, each batch of its progress) and each read command ended
with a checkpoint: 2-5 ms of writes and flushes apiece, the claim's on the way to the first
node's start. Commits are durable either way (``synchronous=FULL`` flushes the log at each
commit); a run copies its log into the file as it goes (``copy_log``, from its recorder's thread,
beside its nodes), SQLite's automatic checkpoint does once the log outgrows 1,000 pages, and the
keeper's close copies what is left.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import Hint
from nodepipe.store.failures import StoreFailures, UnusableStoreError
from nodepipe.store.health import (
    ProblemKind,
    StoreProblem,
    held,
    released,
    sqlite_file,
    sqlite_file_problem,
)
from nodepipe.store.light_read import (
    LightReads,
    connect,
    light_session,
    stored_identity,
    stored_revision,
)
from nodepipe.store.light_write import RunWrites, run_write_session
from nodepipe.store.migrate import HEAD_REVISION, current_revision, ensure_current

if TYPE_CHECKING:
    import sqlalchemy as sa

    from nodepipe.store.change_signal import StoreChanges
    from nodepipe.store.light_edges import EdgeWrites
    from nodepipe.store.queries import StoreSession


def _no_advice() -> Hint | None:
    return None


class Store:
    """One workspace's metadata, in SQLite or PostgreSQL; sessions are transactions."""

    def __init__(self, url: str, failures: StoreFailures) -> None:
        self._url = url
        self._sqlite_file = sqlite_file(url)
        self.failures = failures
        self._held: tuple[int, int] | None = None
        """This store's file, which this process must not open outside SQLite (``health``)."""
        self._keeper: sqlite3.Connection | None = None
        """Open while the store is (an SQLite store's): see the module's docstring."""
        self._closed = False
        """Set by ``close``: every session asked for after it is refused (``check_open``)."""

    def check_open(self) -> None:
        """Refuse a session of a closed store. Used again, it would open connections of its own
        outside the keeper and the hold (``health``), behind the back of whoever closed it."""
        if self._closed:
            from nodepipe.domain.errors import WorkspaceError

            where = self._sqlite_file or "the PostgreSQL store"
            raise WorkspaceError(
                f"this workspace was closed (its store {where}); nothing was read or changed: "
                "open the workspace again to go on"
            )

    def _hold(self) -> None:
        if self._sqlite_file is not None and self._held is None:
            self._held = held(self._sqlite_file)

    def _keep(self) -> sqlite3.Connection | None:
        """The keeper, opened on first call (None on PostgreSQL)."""
        if self._sqlite_file is not None and self._keeper is None:
            self._keeper = connect(self._sqlite_file)
        return self._keeper

    @classmethod
    def open(cls, url: str, advice: Callable[[], Hint | None] = _no_advice) -> Store:
        """Connect to the existing store at ``url``, migrating an older schema.

        A missing or damaged store, one without nodepipe's tables, or a server that cannot be
        reached is an ``UnusableStoreError`` (a ``WorkspaceError``) hinting ``advice()``.
        """
        failures = StoreFailures(url, advice)
        path = sqlite_file(url)
        problem = sqlite_file_problem(path) if path is not None else None
        if problem is not None:
            raise failures.unusable(problem)
        store = cls(url, failures)
        store._hold()
        try:
            with failures.translated():
                keeper = store._keep()
                revision = (
                    stored_revision(keeper)
                    if keeper is not None
                    else current_revision(store.engine)
                )
                if revision is None:
                    raise failures.unusable(
                        StoreProblem(ProblemKind.NO_TABLES, "holds no nodepipe tables")
                    )
                if revision != HEAD_REVISION:
                    ensure_current(store.engine, revision)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def create(cls, url: str) -> Store:
        """Make the store at ``url`` (an SQLite file with mode 0600, or nodepipe's tables in a
        PostgreSQL database) and bring it to the current schema."""
        from nodepipe.store.engine import create_store_engine

        store = cls(url, StoreFailures(url, _no_advice))
        store.engine = create_store_engine(url, create=True)
        store._hold()
        with store.failures.translated():
            ensure_current(store.engine, current_revision(store.engine))
            store._keep()
        return store

    @functools.cached_property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, made (and SQLAlchemy imported) on first use."""
        from nodepipe.store.engine import create_store_engine

        return create_store_engine(self._url)

    @property
    def dialect(self) -> str:
        return "sqlite" if self._url.startswith("sqlite") else self.engine.dialect.name

    @property
    def url(self) -> sa.URL:
        return self.engine.url

    @property
    def sqlite_file(self) -> Path | None:
        """The database file of an SQLite store (None for PostgreSQL)."""
        return self._sqlite_file

    @functools.cached_property
    def changes(self) -> StoreChanges:
        """Tokens that tell whether anything was committed since (``change_signal``; only the
        web app asks, so no command imports it)."""
        from nodepipe.store.change_signal import StoreChanges

        return StoreChanges(self._sqlite_file, lambda: self.engine)

    @contextmanager
    def read(self) -> Iterator[StoreSession]:
        from nodepipe.store.queries import StoreSession

        self.check_open()
        with self.failures.translated(), self.engine.connect() as connection, connection.begin():
            yield StoreSession(connection)

    def copy_log(self) -> None:
        """Copy what the log of an SQLite store holds into its file now (a passive checkpoint:
        it waits for no reader nor writer, and leaves the log in place), so that the
        checkpoint when the store closes has little left. Nothing on PostgreSQL."""
        if self._sqlite_file is None:
            return
        with self.failures.translated():
            connection = connect(self._sqlite_file)
            try:
                connection.execute("PRAGMA synchronous=FULL")  # the file flushed, then the log
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                connection.close()

    @contextmanager
    def light_read(self) -> Iterator[LightReads]:
        """A read transaction answering ``LightReads``: through ``sqlite3`` on an SQLite store
        (no SQLAlchemy), else an ordinary ``read()``."""
        self.check_open()
        if self._sqlite_file is None:
            with self.read() as session:
                yield session
            return
        with self.failures.translated(), light_session(self._sqlite_file) as session:
            yield session

    @contextmanager
    def run_write(self) -> Iterator[RunWrites]:
        """A write transaction answering ``RunWrites`` (a run's claim and progress): through
        ``sqlite3`` on an SQLite store (no SQLAlchemy), else an ordinary ``write()``."""
        self.check_open()
        if self._sqlite_file is None:
            with self.write() as session:
                yield session
            return
        with self.failures.translated(), run_write_session(self._sqlite_file) as session:
            yield session

    @contextmanager
    def edge_write(self) -> Iterator[EdgeWrites]:
        """A write transaction answering ``EdgeWrites`` (``connect``, ``disconnect``): through
        ``sqlite3`` on an SQLite store (no SQLAlchemy), else an ordinary ``write()``."""
        self.check_open()
        if self._sqlite_file is None:
            with self.write() as session:
                yield session
            return
        from nodepipe.store.light_edges import edge_write_session  # only edge edits need it

        with self.failures.translated(), edge_write_session(self._sqlite_file) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[StoreSession]:
        """A transaction that commits on success, rolls back on any exception."""
        from nodepipe.store.queries import StoreSession

        with self._write_connection() as connection:
            yield StoreSession(connection)

    @contextmanager
    def _write_connection(self) -> Iterator[sa.Connection]:
        from nodepipe.store.engine import WRITE_OPTION

        self.check_open()
        with self.failures.translated(), self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield connection

    def identity(self) -> tuple[str, str] | None:
        """The id of the workspace this store belongs to and the folder recorded as its root,
        or None while it has none (a store of an older nodepipe, or a new one): one query,
        through the keeper on an SQLite store."""
        keeper = self._keep()
        with self.failures.translated():
            if keeper is not None:
                return stored_identity(keeper)
            from nodepipe.store import identity_queries

            with self.engine.connect() as connection, connection.begin():
                return identity_queries.read_identity(connection)

    def claim_identity(self, workspace_id: str, root: str) -> tuple[str, str]:
        """Give the store the identity ``workspace_id`` of the folder ``root`` unless it has
        one (of two processes claiming at once, the first wins); the identity it has after."""
        from nodepipe.store import identity_queries

        with self._write_connection() as connection:
            return identity_queries.claim_identity(connection, workspace_id, root)

    def record_root(self, workspace_id: str, root: str) -> None:
        """Record ``root`` as the folder of the store's workspace ``workspace_id``."""
        from nodepipe.store import identity_queries

        with self._write_connection() as connection:
            identity_queries.record_root(connection, workspace_id, root)

    def node_ids(self) -> list[str]:
        """Every node's id."""
        from nodepipe.store import identity_queries

        with self.failures.translated(), self.engine.connect() as connection, connection.begin():
            return identity_queries.node_ids(connection)

    def holds_no_work(self) -> bool:
        """Whether the store holds no pipeline and no node: what an init or a rebuild killed
        before its first pipeline leaves, or a store no one used yet."""
        with self.read() as session:
            return not session.list_pipelines() and not session.list_nodes()

    def close(self) -> None:
        self._closed = True
        changes: StoreChanges | None = self.__dict__.get("changes")
        if changes is not None:
            changes.close()
        engine = self.__dict__.get("engine")
        if engine is not None:
            engine.dispose()
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.close()  # the last connection of this process: SQLite checkpoints here
        released(self._held)
        self._held = None


def check_store(url: str) -> StoreProblem | None:
    """Why the existing store at ``url`` cannot be used, or None if it opens."""
    try:
        Store.open(url).close()
    except UnusableStoreError as error:
        return error.problem
    return None
