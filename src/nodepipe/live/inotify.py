"""Linux's inotify, read directly: one queue of events for the folders added to it, in the order
they happened, and the one event that says the queue overflowed and events were lost.

The C library's ``inotify_init1``, ``inotify_add_watch`` and ``inotify_rm_watch`` are called
through ctypes; events are read from the queue's descriptor with ``os.read`` (non-blocking) and
waited for with ``poll`` alongside a wake-up descriptor, so a reader thread stops at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

IN_ACCESS = 0x00000001
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000

IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

CONTENT = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE
"""A file in the folder written or its metadata changed."""
NAMES = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
"""An entry of the folder made, removed or renamed."""
SELF = IN_DELETE_SELF | IN_MOVE_SELF
"""The folder itself removed or moved."""

_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)
_READ_SIZE = 256 * 1024


class Event(NamedTuple):
    watch: int
    """The watch the event is for (-1 for ``IN_Q_OVERFLOW``)."""
    mask: int
    name: str
    """The entry of the watched folder it concerns ("" for the folder itself)."""


class Inotify:
    """One inotify queue: one thread adds watches and reads; ``wake`` and ``close`` may be
    called from any."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise _error("inotify_init1")
        try:
            self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            os.close(self.fd)  # no queue half made (each holds the user's watches)
            raise
        self._closing = threading.Lock()  # a wake-up never writes to a descriptor reused
        self._closed = False
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLIN)
        self._poll.register(self._wake_read, select.POLLIN)

    def add(self, folder: Path | str, mask: int, follow: bool = False) -> int:
        """Watch ``folder`` (a symbolic link is followed only with ``follow``); its watch.
        OSError as the kernel says: ENOENT/ENOTDIR when it is gone or not a folder (a link, when
        not followed), ENOSPC at the user's watch limit. A folder watched already keeps its
        watch (the same number), with this mask."""
        path = os.fsencode(folder)
        mask |= IN_ONLYDIR if follow else IN_ONLYDIR | IN_DONT_FOLLOW
        watch: int = self._libc.inotify_add_watch(
            self.fd, ctypes.c_char_p(path), ctypes.c_uint32(mask)
        )
        if watch < 0:
            raise _error("inotify_add_watch", folder)
        return watch

    def remove(self, watch: int) -> None:
        """Stop a watch (one already gone is no error)."""
        self._libc.inotify_rm_watch(self.fd, ctypes.c_int(watch))

    def wait(self, timeout: float | None) -> bool:
        """Wait until events are ready, ``wake`` is called, or ``timeout`` seconds (None: no
        limit) pass; whether events are ready."""
        ready = self._poll.poll(None if timeout is None else max(0, int(timeout * 1000) + 1))
        if any(fd == self._wake_read for fd, _ in ready):
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_read, 64)
        return any(fd == self.fd for fd, _ in ready)

    def wake(self) -> None:
        """End a ``wait`` in another thread (safe from any thread)."""
        with self._closing, contextlib.suppress(BlockingIOError):  # one is pending already
            if not self._closed:
                os.write(self._wake_write, b"\0")

    def read(self) -> list[Event]:
        """The events queued now, in order (empty when there are none)."""
        events: list[Event] = []
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                return events
            except InterruptedError:
                continue
            events.extend(_parse(data))

    def close(self) -> None:
        with self._closing:
            if self._closed:
                return
            self._closed = True
            for fd in (self.fd, self._wake_read, self._wake_write):
                os.close(fd)


def _parse(data: bytes) -> Iterator[Event]:
    offset = 0
    while offset + _HEADER.size <= len(data):
        watch, mask, _cookie, length = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        name = data[start : start + length].rstrip(b"\0")
        offset = start + length
        yield Event(watch, mask, os.fsdecode(name))


def _error(call: str, path: Path | str | None = None) -> OSError:
    code = ctypes.get_errno() or errno.EIO
    if path is None:
        return OSError(code, f"{call}: {os.strerror(code)}")
    return OSError(code, f"{call}: {os.strerror(code)}", str(path))
