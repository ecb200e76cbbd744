"""``Store``: the metadata store's entry point, handing out read and write transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from nodepipe.store.engine import WRITE_OPTION, create_store_engine
from nodepipe.store.migrate import ensure_current
from nodepipe.store.queries import StoreSession


class Store:
    """One workspace's metadata, in SQLite or PostgreSQL; sessions are transactions."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url``, migrating the schema to the current version when needed."""
        engine = create_store_engine(url)
        ensure_current(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[StoreSession]:
        with self.engine.connect() as connection, connection.begin():
            yield StoreSession(connection)

    @contextmanager
    def write(self) -> Iterator[StoreSession]:
        """A transaction that commits on success, rolls back on any exception."""
        with self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield StoreSession(connection)

    def close(self) -> None:
        self.engine.dispose()
