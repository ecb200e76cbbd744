"""One thread that starts prepared node runs in free slots and notices their ends at once.

It waits in one ``epoll`` on a pidfd per live process, a wake-up pipe and the nearest timeout:
no thread per node, no polling. A process's end frees its slot, and the next prepared run is
started before the ended one is handed over for concluding, so a slot stays idle only as long
as a launch takes.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import queue
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Final

from nodepipe.domain.runs import TaskOutcome
from nodepipe.execution.task import NodeProcess


class LaunchedRun:
    """A node run between its preparation and its conclusion, and how its process ended.

    A plain class: nothing compares or prints it, and a dataclass costs a run's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = (
        "deadline",
        "error",
        "exit_code",
        "future",
        "on_started",
        "order",
        "pidfd",
        "process",
        "timed_out",
    )

    def __init__(
        self, process: NodeProcess, on_started: Callable[[int], None], order: int = 0
    ) -> None:
        self.process: Final = process
        self.on_started: Final = on_started
        self.order = order
        """Prepared runs start in this order (the order they were handed over)."""
        self.future: Final[Future[TaskOutcome]] = Future()
        self.exit_code: int | None = None
        """None: the process never started (cancelled first, or ``error`` is set)."""
        self.timed_out = False
        self.error: Exception | None = None
        self.deadline: float | None = None
        self.pidfd = -1


class ProcessLauncher:
    """Starts posted runs while fewer than ``slots`` processes live; ``ended`` gets each run
    once its process is gone (or will never start)."""

    def __init__(self, slots: int, ended: Callable[[LaunchedRun], None]) -> None:
        self._free = max(1, slots)
        self._ended = ended
        self._inbox: queue.SimpleQueue[LaunchedRun] = queue.SimpleQueue()
        self._ready: list[tuple[int, int, LaunchedRun]] = []  # a heap: (order, tie, run)
        self._alive: dict[int, LaunchedRun] = {}  # by pidfd
        self._epoll = select.epoll()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._epoll.register(self._wake_read, select.EPOLLIN)
        self._stopping = False
        self._broken: Exception | None = None
        self._thread = threading.Thread(target=self._serve, name="node-launcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def post(self, run: LaunchedRun) -> None:
        """A prepared run, to start as soon as a slot is free.

        The launcher is woken only when a slot is free: while every slot is taken, the run
        waits in the inbox, which the launcher empties whenever a process ends, before it
        starts the next one (``_reap``). A slot freed between the put and the look is seen
        either here (the look comes after) or there (the put came before): never missed."""
        self._inbox.put(run)
        if self._free > 0 or self._stopping or run.process.cancelled:
            self.wake()
        if self._broken is not None:  # no launcher to take it: settle it here
            self._give_up_on_waiting(self._broken)

    def wake(self) -> None:
        """Make the launcher look again (a run was cancelled, or one was posted)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_write, b"!")

    def stop(self) -> None:
        """End the thread once no process it started lives any more."""
        self._stopping = True
        self.wake()
        self._thread.join()
        self._epoll.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _serve(self) -> None:
        """The loop; should it ever fail, no run is left waiting for ever."""
        try:
            self._loop()
        except Exception as exc:
            self._broken = exc
            for run in list(self._alive.values()):
                run.process.end_group()
                run.process.wait()
                run.error = exc
                self._ended(run)
            self._alive.clear()
            self._give_up_on_waiting(exc)

    def _give_up_on_waiting(self, error: Exception) -> None:
        runs = [entry[2] for entry in self._ready]
        self._ready.clear()
        while True:
            try:
                runs.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        for run in runs:
            run.error = error
            self._ended(run)

    def _loop(self) -> None:
        while True:
            self._take_posted()
            self._launch_ready()
            if self._stopping and not self._alive and self._inbox.empty():
                return
            for fd, _ in self._epoll.poll(self._until_next_deadline()):
                if fd == self._wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_read, 4096)
                else:
                    self._reap(self._alive.pop(fd))
            self._enforce_deadlines()

    def _take_posted(self) -> None:
        """The runs posted since the last look join the prepared ones, in their order."""
        while not self._inbox.empty():
            run = self._inbox.get()
            heapq.heappush(self._ready, (run.order, id(run), run))

    def _launch_ready(self) -> None:
        self._hand_back_cancelled()
        while self._ready:
            run = self._ready[0][2]
            if not run.process.cancelled and not self._stopping and self._free == 0:
                return
            heapq.heappop(self._ready)
            self._launch(run)

    def _hand_back_cancelled(self) -> None:
        """Runs cancelled while they wait are handed back now, wherever they are in line (not
        once a slot frees for the runs ahead of them)."""
        if not any(entry[2].process.cancelled for entry in self._ready):
            return
        waiting: list[tuple[int, int, LaunchedRun]] = []
        cancelled: list[LaunchedRun] = []
        for entry in self._ready:  # one look at each: a cancel meanwhile is seen next time
            if entry[2].process.cancelled:
                cancelled.append(entry[2])
            else:
                waiting.append(entry)
        heapq.heapify(waiting)
        self._ready = waiting
        for run in cancelled:
            self._launch(run)  # a cancelled run does not start: it is handed back

    def _launch(self, run: LaunchedRun) -> None:
        try:
            pid = None if self._stopping else run.process.launch(run.on_started)
        except Exception as exc:  # the command could not start
            run.error = exc
            pid = None
        if pid is None:
            self._ended(run)
            return
        try:
            run.pidfd = os.pidfd_open(pid)
        except OSError as exc:  # e.g. out of file descriptors: do not leave it running unseen
            run.process.end_group()
            run.process.wait()
            run.error = exc
            self._ended(run)
            return
        timeout = run.process.task.timeout
        run.deadline = None if timeout is None else time.monotonic() + timeout
        self._epoll.register(run.pidfd, select.EPOLLIN)
        self._alive[run.pidfd] = run
        self._free -= 1

    def _reap(self, run: LaunchedRun) -> None:
        self._epoll.unregister(run.pidfd)
        os.close(run.pidfd)
        run.exit_code = run.process.wait()
        self._free += 1  # before the inbox is looked at: see ``post``
        self._take_posted()
        self._launch_ready()  # the next node first: concluding this one can wait a moment
        self._ended(run)

    def _until_next_deadline(self) -> float | None:
        deadlines = [
            r.deadline for r in self._alive.values() if r.deadline is not None and not r.timed_out
        ]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for run in self._alive.values():
            if run.deadline is not None and not run.timed_out and run.deadline <= now:
                run.timed_out = True
                threading.Thread(target=run.process.end_group, daemon=True).start()
