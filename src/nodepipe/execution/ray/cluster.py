"""The driver's connection to Ray, shared by the Ray executors of one process.

Several runs may go on at once in one process (the web app): they share the connection, which
is opened by the first ``acquire`` and closed after the last ``release``, and only if nodepipe
opened it: a Ray that the embedding program connected itself is never shut down by nodepipe.
One process talks to one cluster at a time.

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
import threading
import time
from typing import Any

import ray

from nodepipe.execution.ray.connect import check_same_cluster, connect, connect_hearing_signals
from nodepipe.execution.ray.worker import NodeSlot

IDLE_SLOT_SECONDS = 30.0
"""How long a slot given back is kept for the next run before its actor (and CPU) is freed."""


class _Connection:
    """Counts the executors using the connection; remembers whether nodepipe opened it, and
    how many connects whose wait was broken still go on (``connect.Orphans``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._owned = False
        self._orphans = 0

    def acquire(self, address: str | None, hearing_signals: bool = False) -> bool:
        """Connect unless connected (``hearing_signals``: from the main thread, in a helper
        thread while it waits, see ``connect.connect_hearing_signals``); whether it was."""
        with self._lock:
            if self._orphans and not self._users and ray.is_initialized():
                self._close()  # an orphan's connection, made just now: never this one's
            kept = ray.is_initialized()
            if kept:
                check_same_cluster(address)
            elif hearing_signals and address is not None:
                connect_hearing_signals(address, self)
            else:
                connect(address)
            self._owned = self._owned or not kept
            self._users += 1
            return kept

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._owned:
                self._close()

    def orphaned(self) -> None:
        """(``connect.Orphans``; the waiting thread holds the lock.)"""
        self._orphans += 1

    def orphan_ended(self, connected: bool) -> None:
        """(``connect.Orphans``) A connection an orphan made is closed unless a run uses one
        (then the orphan's connect failed: one process has one Ray connection)."""
        with self._lock:
            self._orphans -= 1
            if connected and not self._users and ray.is_initialized():
                self._close()

    def _close(self) -> None:
        self._owned = False
        _SLOTS.clear()
        ray.shutdown()


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
    another run).

    From the main thread, a connection to an address is made in a helper thread while this one
    waits, so that Ctrl-C or SIGTERM ends the wait at once (``connect.connect_hearing_signals``;
    a connect left behind so keeps nobody waiting, and a connection it makes is closed). Never
    for a local Ray: Ray starts its processes to die with the thread that started them
    (``PR_SET_PDEATHSIG``), and that start comes back to Python often."""
    if address == "local":  # ray.init's own word for it: the same local Ray as no address
        address = None
    in_main_thread = threading.current_thread() is threading.main_thread()
    return _CONNECTION.acquire(address, hearing_signals=in_main_thread)


def release() -> None:
    """One user fewer; the last one disconnects (if nodepipe connected)."""
    _CONNECTION.release()
