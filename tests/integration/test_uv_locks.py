"""The lock files uv takes are no way for another local user to stall a node's sync or run.

uv makes its lock files mode 0666, and ``flock`` needs only a descriptor open for reading, so
any user who can reach such a file can hold its lock. Another real OS user (``support.
other_user``) holds the two a node's sync would meet: the project lock uv keeps in ``/tmp``
(``/tmp/uv-<digest>.lock``, named after the node's code folder: before, ``nodepipe env sync``
waited on it for as long as they held it, and so did ``env add`` and a run needing a sync) and the
environment's own ``code/.venv/.lock`` in a workspace others may enter (0755 folders, as under
a usual umask: each sync builds a new environment, so no uv command waits on the one in use).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.envs.uv import uv_binary
from support.cli_process import nodepipe_process
from support.other_user import other_user


@pytest.fixture
def open_workspace(offline_index: Path) -> Iterator[Path]:
    """A workspace others may enter (its parents 0755, as a home folder often is): ``load`` in
    the pipeline ``base``, its environment synced."""
    parent = Path(tempfile.mkdtemp(prefix="np-uv-locks-", dir="/tmp"))
    parent.chmod(0o755)
    try:
        ws = nodepipe.init(parent / "ws")
        ws.pipelines.new("base")
        ws.nodes.new("base", tag="load")
        ws.close()
        synced = nodepipe_process(parent / "ws", "env", "sync", "load")
        assert synced.returncode == 0, synced.stderr
        yield parent / "ws"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def code_folder(root: Path) -> Path:
    [folder] = (root / "nodes").glob("*/code")
    return folder


def uv_project_lock_in_tmp(code: Path, scratch: Path) -> Path:
    """The file uv locks for ``code`` with the usual temporary folder (``/tmp``): asked of uv
    itself, syncing into a scratch environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMPDIR", "VIRTUAL_ENV")}
    env.update(UV_PROJECT_ENVIRONMENT=str(scratch), UV_OFFLINE="1", TMPDIR="/tmp")
    traced = subprocess.run(
        [uv_binary(), "sync", "--frozen", "-vv"],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = re.search(rf"Checking lock for `{re.escape(str(code))}` at `([^`]+)`", traced.stderr)
    assert found, traced.stderr
    return Path(found.group(1))


def locked_by_another(path: Path) -> bool:
    """Whether another process holds ``path``'s flock (root is not let through either)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def within_a_minute(root: Path, *argv: str) -> None:
    """``nodepipe ARGV…`` succeeds, without waiting on the locks another user holds."""
    try:
        done = nodepipe_process(root, *argv, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`nodepipe {' '.join(argv)}` waited on a lock another user holds")
    assert done.returncode == 0, done.stderr


def test_another_user_holding_uvs_lock_files_does_not_stall_a_sync_or_a_run(
    open_workspace: Path, tmp_path: Path, offline_index: Path
) -> None:
    code = code_folder(open_workspace)
    project_lock = uv_project_lock_in_tmp(code, tmp_path / "scratch")
    venv_lock = code / ".venv" / ".lock"
    assert project_lock.parent == Path("/tmp")
    assert stat.S_IMODE(venv_lock.stat().st_mode) & 0o006  # uv's 0666: others may open it
    user = other_user()
    holder = subprocess.Popen(  # flock(1) opens read-only: all holding a lock needs
        ["flock", "-x", str(project_lock), "flock", "-x", str(venv_lock), "sleep", "600"],
        user=user.uid,
        group=user.gid,
        extra_groups=[],
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        cwd="/",
        start_new_session=True,  # its own group: both flocks and the sleep end together
    )
    try:
        deadline = time.monotonic() + 30
        while not (locked_by_another(project_lock) and locked_by_another(venv_lock)):
            assert holder.poll() is None and time.monotonic() < deadline, "the locks were not taken"
            time.sleep(0.05)
        within_a_minute(open_workspace, "env", "add", "load", "toypkg==1.0")  # beside the .venv
        assert list((code / ".venv").glob("lib/python*/site-packages/toypkg"))
        within_a_minute(open_workspace, "env", "remove", "load", "toypkg")
        shutil.rmtree(code / ".venv")  # the environment is gone: the next sync builds it
        within_a_minute(open_workspace, "env", "sync", "load")
        shutil.rmtree(code / ".venv")  # a run that builds it again first, the locks still held
        within_a_minute(open_workspace, "run", "base")
        assert locked_by_another(project_lock)  # held all along
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    private = open_workspace / ".nodepipe" / "uv-tmp"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert not (private / "no-environment").exists()  # named to uv, never made
