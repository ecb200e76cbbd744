"""Kill -9 in ``nodepipe server password`` before its save of ``nodepipe.toml`` is renamed
into place: the file keeps the old password, and the temporary copy the kill left (the new
hash in it) does not stay for ever: ``doctor`` reports it, ``--repair`` removes it, and so does
the next save of ``nodepipe.toml`` once it is a minute old.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path

import nodepipe
from nodepipe.domain.passwords import verify_password
from nodepipe.workspace import server_config
from nodepipe.workspace.layout import WorkspaceLayout
from support.cli_process import nodepipe_process

CUT_SHORT = ".nodepipe.toml.*.tmp"


def killed_save(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace whose password is ``first-password``, and the copy a killed
    ``server password`` left, aged two minutes."""
    root = tmp_path / "lab"
    nodepipe.init(root).close()
    first = nodepipe_process(
        root, "server", "password", "--password-stdin", stdin="first-password\n"
    )
    assert first.returncode == 0, first.stderr
    killed = nodepipe_process(
        root,
        "server",
        "password",
        "--password-stdin",
        stdin="second-password\n",
        crash_at="aside-written.toml",
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (leftover,) = root.glob(CUT_SHORT)
    assert stat.S_IMODE(leftover.stat().st_mode) == 0o600
    two_minutes_ago = time.time() - 120
    os.utime(leftover, (two_minutes_ago, two_minutes_ago))
    return root, leftover


def password_is(root: Path, password: str) -> bool:
    hashed = server_config.password_hash(WorkspaceLayout(root))
    return hashed is not None and verify_password(password, hashed)


def test_the_next_password_save_removes_what_a_killed_one_left(tmp_path: Path) -> None:
    root, _ = killed_save(tmp_path)
    assert password_is(root, "first-password")

    again = nodepipe_process(
        root, "server", "password", "--password-stdin", stdin="third-password\n"
    )
    assert again.returncode == 0, again.stderr
    assert password_is(root, "third-password")
    assert not list(root.glob(CUT_SHORT)), "the killed save's copy of nodepipe.toml is left"


def test_doctor_reports_a_killed_password_save_and_repair_removes_it(tmp_path: Path) -> None:
    root, leftover = killed_save(tmp_path)

    report = nodepipe_process(root, "doctor", "--json")
    assert report.returncode == 0, report.stderr
    subjects = [finding["subject"] for finding in json.loads(report.stdout)["findings"]]
    assert str(leftover) in subjects

    repaired = nodepipe_process(root, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert not list(root.glob(CUT_SHORT))
    assert password_is(root, "first-password")
    assert (root / "nodepipe.toml").is_file()
