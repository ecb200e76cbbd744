"""``Store``: the metadata store's entry point, handing out read and write transactions.

``Store.create`` makes a new store (``nodepipe init``); ``Store.open`` only opens one that
exists and holds nodepipe's tables, and refuses with a ``WorkspaceError`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from nodepipe.domain.errors import Hint
from nodepipe.store.engine import WRITE_OPTION, create_store_engine, sqlite_file
from nodepipe.store.failures import StoreFailures, UnusableStoreError
from nodepipe.store.health import ProblemKind, StoreProblem, sqlite_file_problem
from nodepipe.store.migrate import current_revision, ensure_current
from nodepipe.store.queries import StoreSession


def _no_advice() -> Hint | None:
    return None


class Store:
    """One workspace's metadata, in SQLite or PostgreSQL; sessions are transactions."""

    def __init__(self, engine: sa.Engine, failures: StoreFailures) -> None:
        self.engine = engine
        self.failures = failures

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
        engine = create_store_engine(url)
        try:
            with failures.translated():
                revision = current_revision(engine)
                if revision is None:
                    raise failures.unusable(
                        StoreProblem(ProblemKind.NO_TABLES, "holds no nodepipe tables")
                    )
                ensure_current(engine, revision)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, failures)

    @classmethod
    def create(cls, url: str) -> Store:
        """Make the store at ``url`` (an SQLite file with mode 0600, or nodepipe's tables in a
        PostgreSQL database) and bring it to the current schema."""
        failures = StoreFailures(url, _no_advice)
        engine = create_store_engine(url, create=True)
        with failures.translated():
            ensure_current(engine, current_revision(engine))
        return cls(engine, failures)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> sa.URL:
        return self.engine.url

    @contextmanager
    def read(self) -> Iterator[StoreSession]:
        with self.failures.translated(), self.engine.connect() as connection, connection.begin():
            yield StoreSession(connection)

    @contextmanager
    def write(self) -> Iterator[StoreSession]:
        """A transaction that commits on success, rolls back on any exception."""
        with self.failures.translated(), self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield StoreSession(connection)

    def close(self) -> None:
        self.engine.dispose()


def check_store(url: str) -> StoreProblem | None:
    """Why the existing store at ``url`` cannot be used, or None if it opens."""
    try:
        Store.open(url).close()
    except UnusableStoreError as error:
        return error.problem
    return None
