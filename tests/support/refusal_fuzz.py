"""What the refusal fuzzers (the web API's, ``api/test_refusal_fuzz``; the CLI's,
``integration/test_cli_refusal_fuzz``; the Python API's, ``integration/test_python_api_fuzz``)
share: their hypothesis settings, strings and numbers chosen to break names, paths and parsers,
and a snapshot of a workspace (every store row, every file's size and time) to show that a
refusal changed nothing."""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

LEFT_OUT = (
    ".venv",
    "uv-cache",
    "uv-tmp",
    "conda-pkgs",
    "conda-repodata",
    "cache",
    "lock-cache",
    "__pycache__",
)
"""Folders a snapshot does not walk: environments and caches (not what a refusal may change
that a user sees, and thousands of files each)."""
CACHE_FILES = ("store.sqlite", ".fingerprint-cache.json")
"""Files a read may write (the store's own journal files; a node's digests of its files)."""
HOSTILE_TEXT = [
    "",
    " ",
    ".",
    "..",
    "../..",
    "../../etc/passwd",
    "a/../../b",
    "%2F",
    "..%2F..%2Fetc",
    "%00",
    "a\x00b",
    "\x00",
    "\n",
    "-rf",
    "--help",
    "~",
    "/",
    "//",
    "\\..\\",
    "C:\\Windows",
    "nul",
    "CON",
    "ünïcödé",
    "名前",
    "\u202egnp.exe",
    "\U0001f600",
    "\ufeff",
    "a" * 5000,
    "é" * 3000,
    "baseline/../baseline",
    "baseline\x00",
    "1e400",
    "-1",
    "99999999999999999999999999",
    "null",
    "true",
    "{}",
    "[]",
    "' OR 1=1 --",
    "$(id)",
]
"""Strings chosen to break names, paths and parsers."""
SYNTAX = ["[]", "[url=x]", "[", "]", "a::[x]", "::", "==1", "@ file:///x", "-e .", "*", "a;b"]
"""Fragments of the little languages fields hold (requirements, conda specs, versions)."""
HUGE_NUMBERS = [2**63, -(2**63) - 1, 10**30, -(10**30), 1e308, -1e308, 0.5, -1, math.inf, math.nan]
"""Sent as JSON, infinity and NaN are ``Infinity`` and ``NaN``, which Python's parser takes."""


def fuzz_settings(examples: int) -> settings:
    """A refusal fuzzer's settings: ``examples`` examples per test, on top of the profile loaded
    (``tests/conftest.py``: ``ci`` derandomized, so every run tries the same examples; ``long``
    random). No deadline and no "too slow" check: one example is a command or a call on a real
    workspace, seconds at times; no "data too large" check: the hostile values are large on
    purpose. No "explain" phase: it traces every line run under each example, megabytes of them.
    Made when a test asks, not at import: a settings object takes the profile loaded then."""
    return settings(
        max_examples=examples,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(SYNTAX),
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
    )


def hostile_paths(root: Path) -> st.SearchStrategy[str]:
    """Paths inside and outside the workspace at ``root``, special files among them."""
    node_code = next(root.glob("nodes/*/code"), root / "nodes" / "deleted" / "code")
    return st.sampled_from(
        [
            str(root),
            str(node_code),
            str(node_code / "main.py"),
            str(root / "nodepipe.toml"),
            str(root / ".nodepipe" / "store.sqlite"),
            str(root.parent / "outside"),
            str(root.parent / "outside" / "file.txt"),
            "missing/below",
            "/",
            "/dev/null",
            "/dev/zero",
            "/proc/self/status",
            "../../..",
        ]
    )


def snapshot(root: Path) -> dict[str, Any]:
    """Every row of the store and every file of the workspace (path, size, mtime)."""
    store = sqlite3.connect(f"file:{root / '.nodepipe' / 'store.sqlite'}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in store.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        rows = {
            table: sorted(map(repr, store.execute(f'SELECT * FROM "{table}"'))) for table in tables
        }
    finally:
        store.close()
    files: dict[str, tuple[int, int]] = {}
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in LEFT_OUT]
        for name in names:
            path = Path(folder, name)
            if path.name.startswith(CACHE_FILES):
                continue
            info = path.lstat()
            files[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return {"rows": rows, "files": files}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = [
        f"table {table}: {sorted(set(after['rows'].get(table, [])) ^ set(rows))[:3]}"
        for table, rows in before["rows"].items()
        if after["rows"].get(table) != rows
    ]
    files_before, files_after = before["files"], after["files"]
    changed += [
        f"file {name}: {files_before.get(name)} -> {files_after.get(name)}"
        for name in sorted(set(files_before) | set(files_after))
        if files_before.get(name) != files_after.get(name)
    ]
    return changed
