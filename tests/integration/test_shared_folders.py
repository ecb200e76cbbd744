"""What nodepipe writes into a folder other users may write to (``/tmp``, ``/dev/shm``, a
team's drop folder): never through a name another user made there first.

Another OS user (``support.other_user``) watches the folder and plants a link to a file of
root's, or a file of its own, under the name nodepipe is about to write; a pause point
(``NODEPIPE_PAUSE_AT``) holds the command at the moment that user would have to win a race.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from support.file_systems import folder_on_another_file_system
from support.other_user import OtherUser

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
WHEEL, SDIST = "xd-0.1.0-py2.py3-none-any.whl", "xd-0.1.0.tar.gz"


@pytest.fixture
def shared_elsewhere(tmp_path: Path) -> Iterator[Path]:
    """A folder every user may write to (sticky, like /tmp) on another file system than the
    workspace's, where built files are copied rather than renamed."""
    with folder_on_another_file_system(tmp_path) as folder:
        folder.chmod(0o1777)
        yield folder


@pytest.mark.parametrize("planted", ["link", "file"])
def test_a_package_copied_into_a_shared_folder_is_never_written_through_anothers_name(
    lab: nodepipe.Workspace,
    tmp_path: Path,
    shared_elsewhere: Path,
    other: OtherUser,
    planted: str,
) -> None:
    """The wheel's copy (``.NAME.nodepipe-copy-<hex>``) showed the other user the name the
    sdist's copy would take; a link planted there made root's ``package build`` overwrite
    the file it points to, and a file of theirs became the sdist in place (theirs to change
    before it is published)."""
    lab.pipelines.new("xd")
    lab.nodes.new("xd", "n")
    precious = tmp_path / "precious.txt"
    precious.write_text("root's own\n")
    env = {**os.environ, "NODEPIPE_PAUSE_AT": "package.copy-written.whl:3"}
    command = [NODEPIPE, "package", "build", "xd", "--destination", str(shared_elsewhere)]
    with subprocess.Popen(command, cwd=lab.root, env=env, stdout=subprocess.PIPE) as build:
        wheel_copy = _first_copy(shared_elsewhere, build)
        token = wheel_copy.name.rpartition("-")[2]
        guessed = shared_elsewhere / f".{SDIST}.nodepipe-copy-{token}"
        plant = ["ln", "-s", str(precious)] if planted == "link" else ["touch"]
        assert other.run(*plant, str(guessed)).returncode == 0
        build.communicate(timeout=120)
    assert precious.read_text() == "root's own\n"
    for name in (WHEEL, SDIST):
        placed = (shared_elsewhere / name).lstat()
        assert placed.st_uid == os.getuid() and placed.st_size > 0, name
    assert (shared_elsewhere / SDIST).read_bytes()[:2] == b"\x1f\x8b"  # the sdist, gzipped
    assert build.returncode == 0


def _first_copy(folder: Path, build: subprocess.Popen[bytes]) -> Path:
    """The wheel's copy, once ``build`` made it (it is held there by the pause point)."""
    for _ in range(1200):
        found = [p for p in folder.iterdir() if p.name.startswith(f".{WHEEL}.nodepipe-copy-")]
        if found:
            return found[0]
        assert build.poll() is None, "the build ended before it copied anything"
        time.sleep(0.05)
    raise AssertionError("no copy of the wheel appeared")
