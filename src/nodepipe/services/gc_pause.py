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

A command that ends once its answer is printed (the CLI's ``status``, a ``run`` with nothing
to do) holds the collector off for the rest of its process instead (``hold_off_for_command``):
coming back on while that answer is still alive, the collector's first pass walked every one
of its values (about 0.1 s of CPU at 10,000 nodes) to free nothing before the process ended.
A command that goes on working (a run starting its nodes) calls ``resume_collector``.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


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


def hold_off_for_command() -> None:
    """Keep the collector off for the rest of this process: a short command whose values live
    until it prints its answer and exits (``gc_paused`` inside leaves it off)."""
    gc.disable()


def resume_collector() -> None:
    """The command goes on working (a run's nodes start): what it made so far lives on, kept
    out of the collector's passes (``gc.freeze``), and the collector runs again on what the
    work makes."""
    with _lock:
        if _holders == 0:
            gc.freeze()
            gc.enable()
