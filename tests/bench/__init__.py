"""Benchmarks (``make bench``): each prints figures against a floor measured in the same run.

Some reuse the test suite's helpers (``tests/support``, the live server of ``tests/api``),
which import each other as pytest puts them on the path: the same folder goes on it here.
"""

import sys
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
