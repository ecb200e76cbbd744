"""Bytecode a node can trust: its modules' ``.pyc`` files checked by content, not by time.

Python's default ``.pyc`` check compares the source's modification time, in whole seconds, and
its size: a module edited within the second its ``.pyc`` was written, to the same size (or put
back to its old time), runs its old bytecode, although nodepipe, which fingerprints content,
says the node is stale and runs it again. So before a node's Python starts, every module it may
import from its own code, its code paths and the external code it declares gets a *checked-hash*
``.pyc`` (PEP 552): Python then compares the source's hash with the one in the ``.pyc`` at
import, and recompiles a module whose content changed, whatever its time.

Only modules without such a ``.pyc`` (never compiled, compiled by a timestamp, or edited since)
are compiled, by the node's own interpreter (bytecode is per Python version) in one process; a
launch whose modules are all compiled already costs a walk and a few ``stat`` calls. A folder
nodepipe cannot write into (another user's checkout) is left as it is.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from nodepipe.workspace.code_trees import CODE, EXTERNAL, Walk, scan

CHECKED_HASH_FLAGS = 0b11
"""The flags word of a ``.pyc`` header for a hash-based ``.pyc`` whose hash Python checks."""

_COMPILE = """\
import py_compile, sys
for line in sys.stdin:
    try:
        py_compile.compile(
            line.rstrip("\\n"), doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    except Exception:
        pass
"""
_CACHE_TAG = "import sys; print(sys.implementation.cache_tag or '')"


def needing_compile(python: str, code: Path, external: Iterable[Path] = ()) -> list[Path]:
    """The modules of ``code`` (the node's ``code/``) and of the ``external`` folders without a
    checked-hash ``.pyc`` for ``python`` as new as their source: a walk and a ``stat`` each."""
    tag = cache_tag(os.path.realpath(python))  # one question per real interpreter, not per venv
    if not tag:
        return []
    stale = _needing(code, CODE, tag)
    for folder in external:
        stale += _needing(folder, EXTERNAL, tag)
    return stale


def compile_checked(python: str, modules: list[Path]) -> None:
    """Compile ``modules`` to checked-hash ``.pyc`` files with ``python``, in one process; a
    module that cannot be compiled or written is left to Python."""
    if modules:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [python, "-I", "-S", "-c", _COMPILE],
                input="".join(f"{path}\n" for path in modules),
                text=True,
                capture_output=True,
                check=False,
                timeout=600,
            )


@functools.cache
def cache_tag(python: str) -> str:
    """The ``.pyc`` name tag of interpreter ``python`` (``cpython-312``); empty if it cannot
    be asked (not a Python, or one without bytecode caching). Asked once per process: a
    node's environment links the interpreter it was made with, so callers pass its real path
    and every environment made from one Python shares the answer; the interpreter running
    nodepipe (what a workspace's nodes use by default) is not asked, it knows."""
    if python == os.path.realpath(sys.executable):
        return sys.implementation.cache_tag or ""
    try:
        found = subprocess.run(
            [python, "-I", "-S", "-c", _CACHE_TAG],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return found.stdout.strip() if found.returncode == 0 else ""


def _needing(root: Path, walk: Walk, tag: str) -> list[Path]:
    """The modules under ``root`` whose ``.pyc`` for ``tag`` is missing, timestamp-checked or
    older than the source."""
    found: list[Path] = []
    for relative, stat in scan(root, walk).files.items():
        if not relative.endswith(".py"):
            continue
        source = root / relative
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not _trusted(compiled, stat.st_mtime_ns):
            found.append(source)
    return found


def _trusted(compiled: Path, source_mtime_ns: int) -> bool:
    try:
        with compiled.open("rb") as handle:
            header = handle.read(8)
            written = os.fstat(handle.fileno()).st_mtime_ns
    except OSError:
        return False
    if len(header) < 8:
        return False
    flags = int.from_bytes(header[4:8], "little")
    return flags == CHECKED_HASH_FLAGS and written >= source_mtime_ns
