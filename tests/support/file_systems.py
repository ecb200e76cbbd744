"""A folder on another file system than the tests' own (the machine's tmpfs, /dev/shm), for
what must work, and be cleaned up, where a rename cannot cross."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def folder_on_another_file_system(near: Path) -> Iterator[Path]:
    """A new folder on another file system than ``near``, removed after (the test is skipped
    where the machine has no second one)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == near.stat().st_dev:
        pytest.skip("no second file system here")
    folder = Path(tempfile.mkdtemp(prefix="nodepipe-test-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
