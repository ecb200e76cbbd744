"""A remote worker's scratch folder: its own, or refused (what it holds is run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nodepipe.domain.errors import StorageError
from nodepipe.execution.remote_worker import WORKER_DIR_ENV, worker_dir


def test_the_scratch_folder_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKER_DIR_ENV, str(tmp_path / "scratch"))
    made = worker_dir()
    assert made == tmp_path / "scratch"
    assert made.stat().st_mode & 0o777 == 0o700


def test_a_scratch_folder_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user planted the folder (say in /tmp, before the worker started): refused."""
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    os.chown(planted, 65534, 65534)  # nobody (the tests run as root, as CI does)
    monkeypatch.setenv(WORKER_DIR_ENV, str(planted))
    with pytest.raises(StorageError, match="not this user's own"):
        worker_dir()


def test_a_linked_or_shared_writable_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    monkeypatch.setenv(WORKER_DIR_ENV, str(tmp_path / "link"))
    with pytest.raises(StorageError):
        worker_dir()
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(WORKER_DIR_ENV, str(shared))
    with pytest.raises(StorageError):
        worker_dir()
