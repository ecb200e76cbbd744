"""Tests for the throwaway PostgreSQL server helper in ``postgres_server``."""

from __future__ import annotations

import os
import pwd
import socket
from pathlib import Path

import psycopg
import pytest

from .postgres_server import SERVER_USER, PostgresServer


def _port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.postgres
def test_server_round_trip_and_cleanup() -> None:
    server = PostgresServer()
    server.start()
    try:
        port = server.port
        base_dir = server.base_dir
        assert base_dir.is_dir()
        assert _port_is_open(port)

        url = server.create_database("roundtrip")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{port}/roundtrip"

        with psycopg.connect(server.conninfo("roundtrip"), autocommit=True) as conn:
            conn.execute("CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO item (id, name) VALUES (%s, %s)", (1, "héllo"))
            row = conn.execute("SELECT id, name FROM item").fetchone()
            assert row == (1, "héllo")

            listen = conn.execute("SHOW listen_addresses").fetchone()
            assert listen == ("127.0.0.1",)
            server_addr = conn.execute("SELECT host(inet_server_addr())").fetchone()
            assert server_addr == ("127.0.0.1",)
            for setting, expected in [("fsync", "off"), ("server_encoding", "UTF8")]:
                shown = conn.execute(f"SHOW {setting}").fetchone()
                assert shown == (expected,)

        if os.geteuid() == 0:
            # Postgres refuses root: the cluster must belong to the unprivileged server user.
            assert server.data_dir.stat().st_uid == pwd.getpwnam(SERVER_USER).pw_uid
    finally:
        server.stop()

    assert not _port_is_open(port)
    assert not base_dir.exists()
    server.stop()  # idempotent


@pytest.mark.postgres
def test_context_manager_stops_server() -> None:
    with PostgresServer() as server:
        port = server.port
        base_dir = server.base_dir
        with psycopg.connect(server.conninfo()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not _port_is_open(port)
    assert not base_dir.exists()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port


def test_missing_binaries_raise_clear_error(tmp_path: Path) -> None:
    server = PostgresServer(bin_dir=tmp_path / "nope")
    with pytest.raises(RuntimeError, match=r"postgresql-15") as excinfo:
        server.start()
    assert str(tmp_path / "nope") in str(excinfo.value)
