"""A test's coroutine run on an event loop of its own, whatever this process ran before.

Playwright's synchronous API (the browser tests) leaves an event loop running on the main
thread of the pytest worker that used it, and ``asyncio.run`` there fails ("cannot be called
from a running event loop"). Under ``pytest -n 2`` an API test may follow a browser test in the
same worker, so API tests run their coroutines in a thread of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a new thread: its result, or its exception raised here."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-loop") as thread:
        return thread.submit(asyncio.run, coroutine).result()
