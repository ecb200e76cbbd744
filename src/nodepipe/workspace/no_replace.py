"""Renaming a finished file to a name that must be new, never replacing what is there.

A command that checked a destination was free and then wrote for a while must not replace
something that appeared there meanwhile (another process, another user of a shared folder):
``os.replace`` would, silently. ``rename_no_replace`` is one atomic step that fails with
``FileExistsError`` if anything has the name (a dangling link too):

- ``renameat2`` with ``RENAME_NOREPLACE`` (Linux, on local file systems);
- where the file system refuses that flag (NFS, SMB): a hard link to the new name, which fails
  on any existing name too, then the old name removed;
- where it has no hard links either (some SMB shares): the name claimed by an empty file made
  with ``O_EXCL``, then the file renamed over that claim; a kill between the two leaves that
  empty file.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path

RENAME_NOREPLACE = 1
_AT_FDCWD = -100
_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


def rename_no_replace(source: Path, target: Path) -> None:
    """Rename the file ``source`` to ``target`` (on the same file system); FileExistsError,
    and ``source`` left where it is, if ``target`` exists."""
    try:
        _renameat2(source, target)
        return
    except OSError as error:
        if error.errno not in _UNSUPPORTED:
            raise
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
        _claim_then_replace(source, target)
        return
    source.unlink()


def _renameat2(source: Path, target: Path) -> None:
    function = _libc_renameat2()
    if function is None:
        raise OSError(errno.ENOSYS, "renameat2 is not in this C library")
    if function(_AT_FDCWD, bytes(source), _AT_FDCWD, bytes(target), RENAME_NOREPLACE) != 0:
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(source), None, str(target))


@functools.cache
def _libc_renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """The C library's ``renameat2`` (glibc 2.28 and later), looked up once; None without it."""
    import ctypes  # only here: most commands never need it

    function: Callable[[int, bytes, int, bytes, int], int] | None = getattr(
        ctypes.CDLL(None, use_errno=True), "renameat2", None
    )
    return function


def _claim_then_replace(source: Path, target: Path) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    os.close(descriptor)
    try:
        source.replace(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
