"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from support.postgres_server import PostgresServer


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
