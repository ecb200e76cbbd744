"""Python's cyclic garbage collector held off while a large answer is built.

Building the view of a 10,000-node pipeline makes a few hundred thousand small values (rows,
nodes, edges, statuses) that all live until the answer is sent. Meanwhile the collector runs
every 700 allocations and, as the values pile up, walks all of them again and again (and,
every few views, every object of the server), to free nothing: they are all still in use.
Measured at 10,000 nodes, that was half of a warm ``GET /api/pipelines/{p}``. Inside
:func:`gc_paused` the collector does not run; the values are freed by reference counting when
the answer is done, and the collector runs as usual afterwards (it catches any cycle made in
between then).

The pause is process-wide (``gc.disable``), so it is counted: with several requests building
views in threads, the collector comes back when the last one is done, and only if it was on
before the first began.

In the ``nodepipe`` program (a process that ends with its one command: ``one_command_process``),
a command that ends once its answer is printed (``status``, a ``run`` with nothing to do) holds
the collector off for the rest of the process instead (``hold_off_for_command``): coming back on
while that answer was still alive, the collector's passes walked every one of its values (about
a fifth of the CPU of a 10,000-node ``status``) to free nothing before the process ended. A
command that goes on working (a run starting its nodes) calls ``resume_collector``. Where the
CLI runs inside another program (``cli.app.main`` called by a test or a script) both do nothing.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False
_one_command = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off (back on after the last holder leaves)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()


def one_command_process() -> None:
    """This process runs one command, then ends (the ``nodepipe`` program)."""
    global _one_command
    _one_command = True


def hold_off_for_command() -> None:
    """In a one-command process, keep the collector off for the rest of it: a short command
    whose values live until it prints its answer and exits (``gc_paused`` inside leaves it off)."""
    if _one_command:
        gc.disable()


def resume_collector() -> None:
    """In a one-command process, the command goes on working (a run's nodes start): what it
    made so far lives on, kept out of the collector's passes (``gc.freeze``), and the collector
    runs again on what the work makes."""
    with _lock:
        if _one_command and _holders == 0 and not gc.isenabled():
            gc.freeze()
            gc.enable()
