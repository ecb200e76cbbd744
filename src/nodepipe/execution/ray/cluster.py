"""The driver's connection to Ray, shared by the Ray executors of one process.

Several runs may go on at once in one process (the web app): they share the connection, which
is opened by the first ``acquire`` and closed after the last ``release``, and only if nodepipe
opened it: a Ray that the embedding program connected itself is never shut down by nodepipe.
One process talks to one cluster at a time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from typing import Any

import ray

from nodepipe.domain.errors import Action, Hint, InvalidInputError


class _Connection:
    """Counts the executors using the connection; remembers whether nodepipe opened it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._owned = False

    def acquire(self, address: str | None) -> None:
        with self._lock:
            if ray.is_initialized():
                _check_same_cluster(address)
            else:
                _connect(address)
                self._owned = True
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._owned:
                self._owned = False
                ray.shutdown()


_CONNECTION = _Connection()


def acquire(address: str | None) -> None:
    """Connect to the cluster at ``address`` (None: start a local Ray) unless connected already."""
    _CONNECTION.acquire(address)


def release() -> None:
    """One user fewer; the last one disconnects (if nodepipe connected)."""
    _CONNECTION.release()


def _connect(address: str | None) -> None:
    common: dict[str, Any] = {
        "ignore_reinit_error": True,
        "log_to_driver": False,
        "include_dashboard": False,
        "logging_level": logging.WARNING,
    }
    # ray.init replaces the SIGTERM handler with sys.exit; nodepipe's (cancel the run) stays.
    in_main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if in_main_thread else None
    try:
        if address is None:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address="local", _node_ip_address="127.0.0.1", **common)
        else:
            ray.init(address=address, **common)
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise InvalidInputError(
            f"cannot connect to {where}: {exc}", hint=Hint(Action.RAY_CONNECT)
        ) from exc
    finally:
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)


def _check_same_cluster(address: str | None) -> None:
    """Refuse a second cluster: one process talks to one Ray at a time."""
    if address is None or address == "auto" or "://" in address:
        return
    current = ray.get_runtime_context().gcs_address
    if _normalized(address) != _normalized(current):
        raise InvalidInputError(
            f"this process is already connected to the Ray cluster at {current}; it cannot also "
            f"use {address}. Run against {current}, or from another process"
        )


def _normalized(address: str) -> str:
    host, _, port = address.rpartition(":")
    with contextlib.suppress(OSError):
        host = socket.gethostbyname(host)
    return f"{host}:{port}"
