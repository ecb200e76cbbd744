"""Reading a file nodepipe expects to be a regular one (a node's ``pyproject.toml`` or
``params.yaml``, a shared checkout's ``.gitignore`` and ``.git`` files) without ever waiting on
what was put in its place.

Opening a named pipe for reading waits for a writer, and reading a device such as
``/dev/zero`` never ends: ``status``, ``node show`` and the web app's node panel hung on a
``params.yaml``, ``pyproject.toml`` or a checkout's ``.gitignore`` that was one. The file is
opened without waiting (``O_NONBLOCK``), looked at through that descriptor (what is read is
what was checked) and read only when it is a regular file; otherwise ``NotRegularFileError``
says what it is.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class NotRegularFileError(OSError):
    """The path is a named pipe, a device, a socket or a folder; its text says which."""

    def __init__(self, mode: int) -> None:
        super().__init__(not_regular(mode))
        self.mode = mode

    @property
    def is_folder(self) -> bool:
        return stat.S_ISDIR(self.mode)


def not_regular(mode: int) -> str:
    """What a file of ``mode`` that is not a regular file is, for a message."""
    if stat.S_ISFIFO(mode):
        kind = "a named pipe"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "something else"
    return f"it is {kind}, not a regular file"


def read_regular_bytes(path: Path | str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (links followed; at most ``limit`` of them when
    given); NotRegularFileError for anything else, other OSErrors as ``open`` raises them."""
    descriptor = os.open(path, _FLAGS)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(mode)
        os.set_blocking(descriptor, True)
        with open(descriptor, "rb", closefd=False) as reader:
            return reader.read() if limit is None else reader.read(limit)
    finally:
        os.close(descriptor)


def check_regular_file(path: Path | str) -> None:
    """Refuse (NotRegularFileError) ``path`` when it is not a regular file, looked at as
    ``read_regular_bytes`` does: opened without waiting, never read."""
    descriptor = os.open(path, _FLAGS)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(mode)
    finally:
        os.close(descriptor)


def read_regular_text(path: Path | str) -> str:
    """``read_regular_bytes`` as ``Path.read_text`` gives a file: decoded as UTF-8
    (UnicodeDecodeError when it is not), its line endings read as ``\n`` (universal newlines:
    a file saved with CRLF reads as one saved with LF)."""
    data = read_regular_bytes(path)
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
