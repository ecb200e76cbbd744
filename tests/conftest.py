"""Fixtures shared by the whole test suite, and the hypothesis profiles it runs under.

Profiles (``HYPOTHESIS_PROFILE``, ``ci`` by default, as ``make test`` runs it):

- ``ci``: every property's examples are the same on every run (derandomised), so a failure on
  main reproduces anywhere; enough of them to catch the bugs each property exists for (see
  ``tests/unit/test_plan.py``); no deadline, since CI shares two cores.
- ``long``: many more examples from a random seed, printed with the failing example's blob when
  one fails (``@reproduce_failure``), to look for what the fixed examples miss.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql

from support import fork_servers
from support.other_user import OtherUser, other_user
from support.package_index import PackageIndex
from support.postgres_server import PostgresServer

settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=5_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_SCRATCH = Path(tempfile.mkdtemp(prefix="nodepipe-tests-"))
_FORK_DEFAULTS = fork_servers.default_folders()
_FORK_RUNTIME = fork_servers.session_setup(_SCRATCH)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """No fork server started by the session's ``nodepipe`` commands outlives it."""
    fork_servers.stop_servers(_FORK_RUNTIME, _FORK_DEFAULTS)
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the session (one per xdist worker); never skipped.

    If the server cannot start, every test that needs it errors with the reason.
    """
    with PostgresServer() as server:
        yield server


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database on the session server, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    yield postgres_server.create_database(name)
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    """A real package index (pypiserver on loopback), for the tests of one module."""
    server = PackageIndex(tmp_path_factory.mktemp("index")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def other() -> OtherUser:
    """Another OS user of this machine, holding none of the test's rights
    (``support.other_user``)."""
    return other_user()


@pytest.fixture
def open_area() -> Iterator[Path]:
    """A fresh folder of the test's user in /tmp that every user may enter (mode 755, under
    /tmp's sticky, world-writable folder), removed afterwards: only the modes of what a test
    makes inside keep another user out."""
    path = Path(tempfile.mkdtemp(prefix="nodepipe-area-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)
