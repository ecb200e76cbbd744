"""How nodepipe calls ``ray.init``: its arguments, its signal handlers, its errors, and a connect
that the main thread waits for while hearing Ctrl-C.

Ray's connect to an address waits in its C++ GCS client, tens of seconds at a time, without
coming back to Python; a signal's Python handler runs only in the main thread, once it does. So
from the main thread the connect runs in a helper thread (``connect_hearing_signals``) while the
main thread waits, and a signal breaks that wait at once (Ctrl-C raises ``KeyboardInterrupt``).
The helper thread cannot be stopped: it goes on connecting, an **orphan** (a daemon thread: it
does not keep the process from ending), and its owner is told when it ends (``Orphans``), so
that a connection it makes is closed, never used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from types import FrameType
from typing import Any, Protocol

import ray

from nodepipe.domain.errors import Action, Hint, InvalidInputError

HEARD_WITHIN = 0.5
"""Seconds after which a signal is heard at the latest: one that comes just before the wait
blocks wakes nothing (CPython runs its handler once the wait returns), so the wait returns this
often."""


class Orphans(Protocol):
    """Who is told of a connect whose wait was broken (the connection's owner)."""

    def orphaned(self) -> None:
        """A connect goes on that nobody waits for (called by the waiting thread)."""

    def orphan_ended(self, connected: bool) -> None:
        """That connect ended; ``connected``: it made a connection, nobody's (called by its
        helper thread)."""


def connect_hearing_signals(address: str, orphans: Orphans) -> None:
    """``connect(address)`` in a helper thread, this (the main) thread waiting for it: Ctrl-C
    ends the wait at once, and ``orphans`` is told of the connect left behind; a
    connect that ended just as the wait was broken made a connection nobody uses: it is closed
    here (the caller has made sure that none was open before)."""
    _Attempt(address, orphans).start_and_wait()


class _Attempt:
    """One connect in a helper thread, and whether the main thread still waits for it."""

    def __init__(self, address: str, orphans: Orphans) -> None:
        self._address = address
        self._orphans = orphans
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._abandoned = False

    def run(self) -> None:
        error: BaseException | None = None
        try:
            connect(self._address)
        except BaseException as exc:  # for the waiting thread to raise
            error = exc
        with self._lock:
            self._error = error
            self._done.set()
            orphan = self._abandoned
        if orphan:
            self._orphans.orphan_ended(connected=error is None)

    def start_and_wait(self) -> None:
        try:  # a signal as soon as the thread has started leaves it an orphan too
            threading.Thread(target=self.run, name="nodepipe-ray-connect", daemon=True).start()
            while not self._done.wait(HEARD_WITHIN):
                pass
        except BaseException:  # Ctrl-C: nobody uses what the connect makes
            with self._lock:
                self._abandoned = not self._done.is_set()
            if self._abandoned:
                self._orphans.orphaned()
            elif self._error is None:
                ray.shutdown()  # connected just as the wait was broken
            raise
        if self._error is not None:
            raise self._error


_RAY_WORKER_LOG = logging.getLogger("ray._private.worker")


def _no_sigterm_note(record: logging.LogRecord) -> bool:
    """Drop Ray's warning that ``ray.init`` outside the main thread set no SIGTERM handler:
    nodepipe keeps its own handler anyway (a run's SIGTERM cancels it)."""
    return not record.getMessage().startswith("SIGTERM handler is not set")


def connect(address: str | None) -> None:
    """``ray.init`` to the cluster at ``address`` (None: start a local Ray); a failure becomes an
    ``InvalidInputError`` (with the ``ray.connect`` hint) saying where."""
    common: dict[str, Any] = {
        "ignore_reinit_error": True,
        "log_to_driver": False,
        "include_dashboard": False,
        "logging_level": logging.WARNING,
    }
    # ray.init replaces the SIGTERM handler with sys.exit; nodepipe's (cancel the run) stays.
    in_main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if in_main_thread else None
    # A local Ray's processes inherit an ignored SIGINT (a script's `nodepipe run ... &`), and
    # a worker that ignores it never sees ray.cancel: it starts with SIGINT caught (and
    # swallowed, as ignored) here, so that its processes start with the default instead.
    ignored = in_main_thread and address is None
    ignored = ignored and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    _RAY_WORKER_LOG.addFilter(_no_sigterm_note)
    try:
        if address is None:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            if ignored:
                signal.signal(signal.SIGINT, _swallow)
            ray.init(address="local", _node_ip_address="127.0.0.1", **common)
        else:
            ray.init(address=address, **common)
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise InvalidInputError(
            f"cannot connect to {where}: {str(exc) or type(exc).__name__}",
            hint=Hint(Action.RAY_CONNECT),
        ) from exc
    finally:
        _RAY_WORKER_LOG.removeFilter(_no_sigterm_note)
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _swallow(signum: int, frame: FrameType | None) -> None:
    """A signal handler that does nothing: the process ignores the signal, its children
    (which start with the default) do not."""


def check_same_cluster(address: str | None) -> None:
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
