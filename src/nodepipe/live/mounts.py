"""Folders mounted or unmounted under ``nodes/`` while the web app's watcher watches it.

A watch is on the folder a path led to when it was added: a folder mounted over a watched one
afterwards (a bind mount, a network share) hides it, and edits in what now lies there are told
to no watch. Linux says when this process's mount table changes (``/proc/self/mountinfo``
polls ready, ``POLLPRI``); the table is then read again, and only a change of the mount points
under the folder counts (a USB stick mounted elsewhere does not).

A folder mounted under ``nodes/`` is watched where it lies (its watch is on the folder mounted,
whatever path an edit goes through); a file mounted there is not: an edit through its own path
is told to the watch of its own folder, elsewhere (``files``).
"""

from __future__ import annotations

import os
import re
import select
from pathlib import Path

MOUNT_TABLE = "/proc/self/mountinfo"
_ESCAPED = re.compile(rb"\\([0-7]{3})")


class MountWatch:
    """The mount points under one folder, and whether they changed (one thread uses it)."""

    def __init__(self, folder: Path) -> None:
        self._root = os.fsencode(os.path.realpath(folder))
        try:
            self._fd: int | None = os.open(MOUNT_TABLE, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None  # no mount table: nothing to tell (``on_local_filesystem`` says no)
        self._poll = select.poll()
        if self._fd is not None:
            self._poll.register(self._fd, select.POLLPRI)
        self._points = self._read()

    def changed(self) -> bool:
        """Whether a folder was mounted or unmounted under the folder since the last call."""
        if self._fd is None or not self._poll.poll(0):
            return False
        points = self._read()
        if points == self._points:
            return False
        self._points = points
        return True

    def files(self) -> list[str]:
        """The mount points under the folder that are not folders (a file mounted in place)."""
        found = (Path(os.fsdecode(point)) for point in sorted(self._points))
        return [str(point) for point in found if not point.is_dir()]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _read(self) -> frozenset[bytes]:
        if self._fd is None:
            return frozenset()
        chunks = []
        offset = 0
        while chunk := os.pread(self._fd, 65536, offset):
            chunks.append(chunk)
            offset += len(chunk)
        inside = self._root.rstrip(b"/") + b"/"
        points = set()
        for line in b"".join(chunks).splitlines():
            fields = line.split(b" ")
            if len(fields) > 4:
                point = _ESCAPED.sub(lambda m: bytes([int(m[1], 8)]), fields[4])
                if point == self._root or point.startswith(inside):
                    points.add(point)
        return frozenset(points)
