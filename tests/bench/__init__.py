"""Benchmarks (``make bench``): each prints figures against a floor measured in the same run.

Some reuse the test suite's helpers (``tests/support``, the live server of ``tests/api``),
which import each other as pytest puts them on the path: the same folder goes on it here.
"""

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.append(_TESTS)


def fresh_bytecode() -> int:
    """Compile every nodepipe module whose ``.pyc`` is missing or older than its source; the
    number compiled.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on these machines) nothing else refreshes them: a
    module edited since the last ``make install`` is compiled from source again by every
    process a bench starts, which adds tens of milliseconds to each command's start and looks
    like a slower nodepipe. Up-to-date files are left alone (``compileall`` compares the
    source's mtime and size recorded in each ``.pyc``).
    """
    import compileall
    import importlib.util

    import nodepipe

    package = Path(nodepipe.__file__).parent
    stale = sum(
        1
        for source in package.rglob("*.py")
        if not Path(importlib.util.cache_from_source(str(source))).is_file()
        or Path(importlib.util.cache_from_source(str(source))).stat().st_mtime
        < source.stat().st_mtime
    )
    if stale:
        compileall.compile_dir(str(package), quiet=1)
        print(f"(compiled {stale} nodepipe module(s) whose bytecode was missing or stale)")
    return stale


def seconds(action: Callable[[], object], own: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of ``action``. CPU is user + system time of the child processes it
    waited for (their children included) and, with ``own``, of this process too (an action run
    in process, such as ``ws.runs.run``): a machine busy with other work inflates it far less
    than wall time, which waits for a free core. An action that returns a float adds it to the
    CPU: the CPU seconds of processes that are not this one's children (a fork server's
    worker, which reports its own)."""

    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        total = children.ru_utime + children.ru_stime
        return total + time.process_time() if own else total

    before = cpu()
    start = time.perf_counter()
    reported = action()
    wall = time.perf_counter() - start
    return wall, cpu() - before + (reported if isinstance(reported, float) else 0.0)


def paired(
    figure: Callable[[], object],
    floor: Callable[[], object],
    pairs: int,
    own: bool = False,
    before: Callable[[], object] | None = None,
) -> str:
    """``figure`` and ``floor`` alternately, ``pairs`` times: the medians of wall and CPU time
    and the medians of the per-pair ratios (the load changes from one second to the next, so a
    figure is divided by the floor measured just before it). Wall is what issue 17 states its
    targets in (on a quiet machine); CPU is the companion a shared machine inflates less.
    ``before`` runs, untimed, before each pair."""
    figures, floors = [], []
    for _ in range(pairs):
        if before is not None:
            before()
        floors.append(seconds(floor, own))
        figures.append(seconds(figure, own))
    parts = []
    for index, name in ((0, "wall"), (1, "CPU")):
        ratio = statistics.median(a[index] / b[index] for a, b in zip(figures, floors, strict=True))
        figure_ms = statistics.median(a[index] for a in figures) * 1000
        floor_ms = statistics.median(b[index] for b in floors) * 1000
        parts.append(f"{name} {figure_ms:7.1f} ms / {floor_ms:6.1f} ms = {ratio:5.2f}x")
    return "   ".join(parts)


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), to print beside wall-time figures."""
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())
