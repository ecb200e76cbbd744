"""Which processes hold given files open (Linux ``/proc``): a store is not replaced under a
process that would go on writing to the file it has open, and uv's temporary files are not
removed under a uv (or a build it runs) still using them.

Only processes this user may inspect are seen; others cannot open the user's 0600 store (or
enter its 0700 ``.nodepipe``) anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

PROC = Path("/proc")


def processes_using(paths: Iterable[Path]) -> list[str]:
    """``program (pid N)`` for each other process with one of ``paths`` open."""
    wanted = {str(path.absolute()) for path in paths}
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if _holds_any(entry, wanted):
            found.append(f"{_program(entry)} (pid {entry.name})")
    return found


def processes_within(folders: Sequence[Path]) -> dict[Path, list[str]]:
    """For each of ``folders``, ``program (pid N)`` of each other process whose working folder,
    root, program, an open file or a mapped file is that folder or inside it."""
    wanted = {folder: str(folder.absolute()) for folder in folders}
    found: dict[Path, list[str]] = {folder: [] for folder in folders}
    if not wanted:
        return found
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        paths = set(_paths_used(entry))
        for folder, text in wanted.items():
            if any(path == text or path.startswith(text + "/") for path in paths):
                found[folder].append(f"{_program(entry)} (pid {entry.name})")
    return found


def processes_started_with(name: str, value: str) -> list[str]:
    """``program (pid N)`` of each other process started with ``name=value`` in its
    environment (a uv nodepipe runs, and whatever that uv started, have ``TMPDIR`` set to
    uv's private folder)."""
    wanted = os.fsencode(f"{name}={value}")
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to look at
            continue
        if wanted in variables:
            found.append(f"{_program(entry)} (pid {entry.name})")
    return found


def _paths_used(process: Path) -> Iterator[str]:
    """The paths ``process`` has as its working folder, root and program, open, and mapped."""
    for name in ("cwd", "root", "exe"):
        try:
            yield str((process / name).readlink())
        except OSError:
            continue
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:  # gone, or not ours to look at
        descriptors = []
    for descriptor in descriptors:
        try:
            yield str(descriptor.readlink())
        except OSError:
            continue
    try:
        maps = (process / "maps").read_text(errors="replace").splitlines()
    except OSError:
        return
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            yield fields[5]


def _holds_any(process: Path, wanted: set[str]) -> bool:
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:  # gone, or not ours to look at
        return False
    for descriptor in descriptors:
        try:
            if str(descriptor.readlink()) in wanted:
                return True
        except OSError:
            continue
    return False


def _program(process: Path) -> str:
    try:
        words = (process / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "a process"
    shown = [_short(os.fsdecode(word)) for word in words[:3] if word]
    return (
        " ".join(Path(shown[0]).name if i == 0 else w for i, w in enumerate(shown)) or "a process"
    )


def _short(word: str) -> str:
    """A word of a command line as shown: its first line, at most 40 characters (a
    ``python -c`` script is a word)."""
    line = word.splitlines()[0] if word.strip() else word
    return line if len(line) <= 40 and line == word else line[:40].rstrip() + "…"
