"""Which processes hold given files open (Linux ``/proc``): a store is not replaced under a
process that would go on writing to the file it has open.

Only processes this user may inspect are seen; others cannot open the user's 0600 store anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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
    shown = [os.fsdecode(word) for word in words[:3] if word]
    return (
        " ".join(Path(shown[0]).name if i == 0 else w for i, w in enumerate(shown)) or "a process"
    )
