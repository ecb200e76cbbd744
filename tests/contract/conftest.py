"""The store contract runs every test against each backend: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nodepipe.store.store import Store

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database: a file in ``tmp_path``, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'store.sqlite').resolve()}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], Store]]:
    """Opens (and later closes) any number of ``Store`` objects on the test's database; the
    first one creates the store."""
    opened: list[Store] = []

    def _open() -> Store:
        opened.append(Store.open(store_url) if opened else Store.create(store_url))
        return opened[-1]

    yield _open
    for store in reversed(opened):
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    """A freshly migrated, empty store."""
    return open_store()
