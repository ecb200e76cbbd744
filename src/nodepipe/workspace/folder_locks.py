"""Exclusive locks on folders, so that two processes (or two threads of the web app) editing
the same environment project take turns: ``held_folders``.

An environment edit saves the project's files, lets uv rewrite them, syncs, and on failure puts
the saved files back. Two edits of one node at once interleave: the second saves the files
before the first has written, and its failure puts back files without the first one's change,
which its command had reported made. So an edit holds its folders from before it saves them to
after it has put them back or flushed them; another edit of the same folder waits.

The lock is ``flock`` on the folder itself (opened read-only): nothing is created in a user's
folder nor anywhere else, and the kernel drops the lock with the process, however it dies. A
thread already holding a folder takes it again without waiting (an edit inside an edit). On a
file system that cannot lock a folder (NFS) the edit goes on unlocked, as it always did.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

_held = threading.local()


def _held_here() -> set[str]:
    found: set[str] | None = getattr(_held, "folders", None)
    if found is None:
        found = _held.folders = set()
    return found


@contextmanager
def held_folders(folders: Sequence[Path]) -> Iterator[None]:
    """Hold every folder of ``folders`` that exists, exclusively, for the block; waits for any
    other holder. Taken in one order (by resolved path), so two holders of overlapping sets
    never wait for each other."""
    held = _held_here()
    wanted = sorted({str(folder.resolve()) for folder in folders if folder.is_dir()} - held)
    with ExitStack() as stack:
        for folder in wanted:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            stack.callback(os.close, descriptor)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            except OSError:  # a file system without flock on folders (NFS emulates it with
                continue  # write locks, refused on a folder): edits there are not serialised
            held.add(folder)
            stack.callback(held.discard, folder)
        yield
