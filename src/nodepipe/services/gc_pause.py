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
