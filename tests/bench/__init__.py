"""Benchmarks (``make bench``): each prints figures against a floor measured in the same run.

Some reuse the test suite's helpers (``tests/support``, the live server of ``tests/api``),
which import each other as pytest puts them on the path: the same folder goes on it here.
"""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
