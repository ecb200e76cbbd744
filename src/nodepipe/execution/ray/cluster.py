"""The driver's connection to Ray, shared by the Ray executors of one process.

Several runs may go on at once in one process (the web app): they share the connection, which
is opened by the first ``acquire`` and closed after the last ``release``, and only if nodepipe
opened it: a Ray that the embedding program connected itself is never shut down by nodepipe.
One process talks to one cluster at a time. While nodepipe's own connection is open, what the
cluster tells the driver goes to a file, not to the process's stdout (``messages``).

The connection also keeps the **warm slots** of its executors (``borrow_slot``): actors
(``worker.NodeSlot``, one worker process each, holding one CPU) that run nodes with the default
resources one after another without a Ray lease per node. Only a run on a connection that was
open already uses them (``acquire`` says so): a Python program that connected itself, or a run
beside another in the same process (the web app). A slot's worker process is started for it,
where a task may get one that Ray started beforehand: slots pay off on a connection that
outlives the run, not on one opened for a single run. A slot an executor gives back waits idle
for the next run of the process, for ``IDLE_SLOT_SECONDS`` at most; it is dropped at once while
a node of other resources waits for the CPUs it holds (``task_waiting``), and none is lent
meanwhile, so a node asking for more than a slot's CPU is never starved by idle slots.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import ray

from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.execution.ray import messages
from nodepipe.execution.ray.private_files import private_temp_dir, private_token
from nodepipe.execution.ray.worker import NodeSlot

IDLE_SLOT_SECONDS = 30.0
"""How long a slot given back is kept for the next run before its actor (and CPU) is freed."""


class _Connection:
    """Counts the executors using the connection; remembers whether nodepipe opened it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._owned = False

    def acquire(self, address: str | None) -> bool:
        with self._lock:
            kept = ray.is_initialized()
            if kept:
                _check_same_cluster(address)
            else:
                _connect(address)
                messages.keep()
                self._owned = True
            self._users += 1
            return kept

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._owned:
                self._owned = False
                _SLOTS.clear()
                ray.shutdown()
                messages.release()


_CONNECTION = _Connection()


class _WarmSlots:
    """The idle slot actors of this process's Ray job, and how many nodes of other resources
    wait for CPUs (while any does, no slot is lent or kept)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._idle: list[tuple[Any, float]] = []  # (actor handle, when given back)
        self._job: str | None = None
        self._waiting = 0
        self._reaper: threading.Thread | None = None

    def borrow(self) -> Any | None:
        """An idle slot actor (or a new one); None while a node of other resources waits."""
        with self._lock:
            if self._waiting:
                return None
            self._forget_other_job()
            if self._idle:
                return self._idle.pop()[0]
        return NodeSlot.remote()

    def give_back(self, actor: Any) -> None:
        with self._lock:
            self._forget_other_job()
            if self._waiting:
                _kill(actor)
                return
            self._idle.append((actor, time.monotonic()))
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="ray-slots", daemon=True)
                self._reaper.start()
            self._lock.notify()

    def task_waiting(self) -> None:
        """A node of other resources is submitted: free the CPUs that idle slots hold."""
        with self._lock:
            self._waiting += 1
            self._drop(len(self._idle))

    def task_started(self) -> None:
        with self._lock:
            self._waiting -= 1

    def tasks_waiting(self) -> bool:
        with self._lock:
            return self._waiting > 0

    def clear(self) -> None:
        """The connection is closing: its actors go with it."""
        with self._lock:
            self._idle.clear()
            self._job = None

    def _forget_other_job(self) -> None:
        """Handles of an earlier connection (the embedding program reconnected, maybe to
        another cluster, whose job ids start again from the same number) are void."""
        context = ray.get_runtime_context()
        job = f"{context.gcs_address} {context.get_job_id()}"
        if job != self._job:
            self._idle.clear()
            self._job = job

    def _drop(self, count: int) -> None:
        dropped, self._idle = self._idle[:count], self._idle[count:]
        for actor, _ in dropped:
            _kill(actor)

    def _reap(self) -> None:
        """Free the slots idle for ``IDLE_SLOT_SECONDS`` (oldest first)."""
        with self._lock:
            while True:
                now = time.monotonic()
                expired = sum(1 for _, since in self._idle if now - since >= IDLE_SLOT_SECONDS)
                self._idle.sort(key=lambda idle: idle[1])
                self._drop(expired)
                wait = IDLE_SLOT_SECONDS - (now - self._idle[0][1]) if self._idle else None
                self._lock.wait(wait)


def _kill(actor: Any) -> None:
    with contextlib.suppress(Exception):  # gone already
        ray.kill(actor, no_restart=True)


_SLOTS = _WarmSlots()


def borrow_slot() -> Any | None:
    """A warm slot actor for nodes with the default resources (``worker.NodeSlot``), or None
    while a node of other resources waits for CPUs (run it as a task then)."""
    return _SLOTS.borrow()


def give_back_slot(actor: Any) -> None:
    """The executor has nothing more for this slot now: keep it for the next run a while."""
    _SLOTS.give_back(actor)


def task_waiting() -> None:
    """A node of other resources was submitted as a task: idle slots must not keep its CPUs."""
    _SLOTS.task_waiting()


def task_started() -> None:
    """That node started (or ended without starting)."""
    _SLOTS.task_started()


def tasks_waiting() -> bool:
    """Whether a node of other resources waits for CPUs: then no slot should take one node
    after another (a slot kept busy never gives its CPU back)."""
    return _SLOTS.tasks_waiting()


def acquire(address: str | None) -> bool:
    """Connect to the cluster at ``address`` (None or ``local``: start a local Ray) unless
    connected already; whether it was (a connection kept open by the embedding program, or by
    another run)."""
    if address == "local":  # ray.init's own word for it: the same local Ray as no address
        address = None
    return _CONNECTION.acquire(address)


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
    # A local Ray's processes inherit an ignored SIGINT (a script's `nodepipe run ... &`), and
    # a worker that ignores it never sees ray.cancel: it starts with SIGINT caught (and
    # swallowed, as ignored) here, so that its processes start with the default instead.
    ignored = in_main_thread and address is None
    ignored = ignored and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    try:
        if address is None:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            if ignored:
                signal.signal(signal.SIGINT, _swallow)
            temp_dir = private_temp_dir()  # not Ray's /tmp/ray, which every user may change
            private_token()  # before Ray writes one others may read
            ray.init(address="local", _node_ip_address="127.0.0.1", _temp_dir=temp_dir, **common)
        else:
            ray.init(address=address, **common)
    except Exception as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise InvalidInputError(
            f"cannot connect to {where}: {str(exc) or type(exc).__name__}",
            hint=Hint(Action.RAY_CONNECT),
        ) from exc
    finally:
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _swallow(signum: int, frame: FrameType | None) -> None:
    """A signal handler that does nothing: the process ignores the signal, its children
    (which start with the default) do not."""


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
