"""Bytecode a node can trust: its modules' ``.pyc`` files checked by content, not by time.

Python's default ``.pyc`` check compares the source's modification time, in whole seconds, and
its size: a module edited within the second its ``.pyc`` was written, to the same size (or put
back to its old time), runs its old bytecode, although nodepipe, which fingerprints content,
says the node is stale and runs it again. So before a node's Python starts, every module it may
import from its own code, its code paths and the external code it declares gets a *checked-hash*
``.pyc`` (PEP 552): Python then compares the source's hash with the one in the ``.pyc`` at
import, and recompiles a module whose content changed, whatever its time.

Only modules without such a ``.pyc`` (never compiled, compiled by a timestamp, or edited since)
are compiled, by the node's own interpreter (bytecode is per Python version) in one process. An
external folder (a shared checkout, a code path, a linked lib) is checked at most once per
content and interpreter: ``CompiledMarks`` remembers the digest of its files (the one the node's
fingerprint already holds) it was last compiled at, so a launch with nothing changed there reads
nothing of it, whatever its size. A folder the running user does not own (another user's
checkout, root included: owners are compared, not permissions) is never written into.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from nodepipe.domain.staleness import SHARED_CODE_SEPARATOR
from nodepipe.workspace.code_trees import CODE, EXTERNAL, Tree, Walk, scan
from nodepipe.workspace.file_state import real_path
from nodepipe.workspace.run_environment import known_digests

CHECKED_HASH_FLAGS = 0b11
"""The flags word of a ``.pyc`` header for a hash-based ``.pyc`` whose hash Python checks."""

_COMPILE = """\
import os, py_compile, sys
for path in sys.stdin.buffer.read().split(b"\\0")[:-1]:
    try:
        py_compile.compile(
            os.fsdecode(path), doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
    except Exception:
        pass
"""
_COMPILE_TELLING = """\
import os, py_compile, sys, time
paths = [os.fsdecode(p) for p in sys.stdin.buffer.read().split(b"\\0")[:-1]]
told = time.monotonic()
for done, path in enumerate(paths, 1):
    try:
        py_compile.compile(
            path, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
        )
    except Exception:
        pass
    if time.monotonic() - told >= 0.25 or done == len(paths):
        print(done, flush=True)
        told = time.monotonic()
"""
_CACHE_TAG = "import sys; print(sys.implementation.cache_tag or '')"


class Checked(NamedTuple):
    """An external folder whose modules a launch checks, with the digest of its content when
    known (then it is checked once per content: ``CompiledMarks``)."""

    folder: Path
    digest: str | None = None


class CompiledMarks:
    """Which content (digest) of each external folder was last compiled for which interpreter:
    one small file per folder and cache tag under ``directory``. None keeps no marks."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _file(self, folder: Path, tag: str) -> Path | None:
        if self.directory is None:
            return None
        key = hashlib.sha256(f"{os.path.realpath(folder)}\0{tag}".encode()).hexdigest()
        return self.directory / key[:40]

    def done(self, folder: Path, tag: str, digest: str) -> bool:
        """Whether ``folder`` was compiled for ``tag`` when its content was ``digest``."""
        file = self._file(folder, tag)
        try:
            return file is not None and file.read_text(encoding="ascii") == digest
        except (OSError, ValueError):
            return False

    def mark(self, folder: Path, tag: str, digest: str) -> None:
        """Remember ``folder`` as compiled for ``tag`` at ``digest`` (written whole, or not)."""
        file = self._file(folder, tag)
        if file is None:
            return
        with contextlib.suppress(OSError):
            file.parent.mkdir(parents=True, exist_ok=True)
            partial = file.with_name(f"{file.name}.{os.getpid()}.partial")
            partial.write_text(digest, encoding="ascii")
            partial.replace(file)


class ToCompile(NamedTuple):
    """What a launch compiles: the modules, and the external folders (with their digests) to
    mark as compiled once they are."""

    modules: list[Path]
    settled: list[Checked]

    def mark(self, python: str, marks: CompiledMarks) -> None:
        tag = cache_tag(real_path(python))
        for folder, digest in self.settled:
            if digest is not None:
                marks.mark(folder, tag, digest)


def external_digests(fingerprint: str) -> dict[str, str]:
    """The digest of each external folder's content a node's ``fingerprint`` (its JSON) holds,
    by the name it is fingerprinted under (``mytool`` for ``mytool::src/mytool/io.py``)."""
    files: dict[str, list[str]] = {}
    for key, digest in sorted(known_digests(fingerprint).items()):
        name, separator, relative = key.partition(SHARED_CODE_SEPARATOR)
        if separator:
            files.setdefault(name, []).append(f"{relative}\0{digest}\n")
    return {
        name: hashlib.sha256("".join(lines).encode()).hexdigest() for name, lines in files.items()
    }


def needing_compile(python: str, code: Path, external: Iterable[Path] = ()) -> list[Path]:
    """The modules of ``code`` (the node's ``code/``) and of the ``external`` folders without a
    checked-hash ``.pyc`` for ``python`` as new as their source: a walk and a ``stat`` each."""
    return to_compile(python, code, [Checked(folder) for folder in external]).modules


def to_compile(
    python: str,
    code: Path,
    external: Iterable[Checked],
    marks: CompiledMarks | None = None,
    code_tree: Tree | None = None,
    entry: str | None = None,
) -> ToCompile:
    """``needing_compile``, skipping each external folder ``marks`` holds as compiled at its
    current digest; the others are returned as ``settled`` to be marked after compiling.
    ``code_tree``: the walk of ``code`` (``CODE``) the caller just took, if any; ``entry``:
    the script of ``code`` that runs as ``__main__`` (compiled from its source when it runs:
    no ``.pyc`` of it is read, so none is looked for)."""
    tag = cache_tag(real_path(python))  # one question per real interpreter, not per venv
    if not tag:
        return ToCompile([], [])
    marks = marks or CompiledMarks(None)
    owner = os.geteuid()
    stale = _needing(code, CODE, tag, owner, code_tree, entry)
    settled: list[Checked] = []
    seen: set[Path] = set()
    for item in external:
        if item.folder in seen:
            continue
        seen.add(item.folder)
        if item.digest is not None and marks.done(item.folder, tag, item.digest):
            continue
        stale += _needing(item.folder, EXTERNAL, tag, owner)
        settled.append(item)
    return ToCompile(stale, settled)


def compile_checked(
    python: str, modules: list[Path], on_compiled: Callable[[int], None] | None = None
) -> None:
    """Compile ``modules`` to checked-hash ``.pyc`` files with ``python``, in one process; a
    module that cannot be compiled or written is left to Python. ``on_compiled`` hears how
    many are done, four times a second and at the end."""
    if modules and on_compiled is not None:
        _compile_telling(python, modules, on_compiled)
    elif modules:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [python, "-I", "-S", "-c", _COMPILE],
                input=_path_list(modules),
                capture_output=True,
                check=False,
                timeout=600,
            )


def _path_list(modules: list[Path]) -> bytes:
    """The modules' paths as the compiling process reads them: the file system's own bytes,
    each ended by a NUL (a name may hold a newline, or bytes that are not UTF-8)."""
    return b"".join(os.fsencode(path) + b"\0" for path in modules)


def _compile_telling(python: str, modules: list[Path], on_compiled: Callable[[int], None]) -> None:
    """``compile_checked``, its process printing how many modules it compiled as it goes (it
    reads the whole list first, so neither pipe can fill up while the other is written)."""
    with (
        contextlib.suppress(OSError, subprocess.SubprocessError, ValueError),
        subprocess.Popen(
            [python, "-I", "-S", "-c", _COMPILE_TELLING],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as process,
    ):
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(_path_list(modules))
        process.stdin.close()
        for line in process.stdout:  # bytes: int() reads b"12\n" too
            on_compiled(int(line))
        process.wait(timeout=600)


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


def _needing(
    root: Path,
    walk: Walk,
    tag: str,
    owner: int,
    tree: Tree | None = None,
    skip: str | None = None,
) -> list[Path]:
    """The modules under ``root`` whose ``.pyc`` for ``tag`` is missing, timestamp-checked or
    older than the source, in folders ``owner`` (the running user) owns; ``tree``: ``root``
    walked so already; ``skip``: a file of it (relative) not to look at."""
    found: list[Path] = []
    owned: dict[Path, bool] = {}
    for relative, stat in (scan(root, walk) if tree is None else tree).files.items():
        if not relative.endswith(".py") or relative == skip:
            continue
        source = root / relative
        mine = owned.get(source.parent)
        if mine is None:
            mine = owned[source.parent] = _owned_by(source.parent, owner)
        if not mine:
            continue
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if not _trusted(compiled, stat.st_mtime_ns):
            found.append(source)
    return found


def _owned_by(folder: Path, owner: int) -> bool:
    try:
        return folder.stat().st_uid == owner
    except OSError:
        return False


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
