"""Another OS user of this machine, for the security tests: run commands and own folders as it.

It is ``nodepipe-pg``, the unprivileged system user the PostgreSQL tests create (idempotently,
serialised by a lock across processes). Its commands run with ``subprocess``'s
``user``/``group``, with no supplementary groups and a minimal environment, so it holds none of
the test's (root's) rights. It speaks HTTP with ``curl``: the test's interpreter lives under
``/root``, which it cannot enter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.postgres_server import SERVER_USER, unprivileged_user

CURL = shutil.which("curl") or "/usr/bin/curl"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


@dataclass(frozen=True)
class OtherUser:
    uid: int
    gid: int
    name: str = SERVER_USER

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``args`` as this user; never raises on a non-zero exit."""
        return subprocess.run(
            list(args),
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", "HOME": "/", "LC_ALL": "C"},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def request(self, method: str, url: str, body: Any = None, token: str = "") -> Answer:
        """An HTTP request sent by this user with curl (with ``token`` if given)."""
        command = [CURL, "-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", url]
        if token:
            command += ["-H", f"Authorization: Bearer {token}"]
        if body is not None:
            command += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
        done = self.run(*command)
        assert done.returncode == 0, f"curl failed: {done.stderr}"
        text, _, status = done.stdout.rpartition("\n")
        return Answer(int(status), text)

    def folder(self, prefix: str) -> Path:
        """A new folder under /tmp that this user owns (the caller removes it)."""
        path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        os.chown(path, self.uid, self.gid)
        path.chmod(0o755)
        return path

    def give(self, path: Path) -> None:
        """Hand ``path`` and everything inside it to this user."""
        for item in [path, *path.rglob("*")]:
            os.chown(item, self.uid, self.gid, follow_symlinks=False)


def other_user() -> OtherUser:
    uid, gid = unprivileged_user()
    return OtherUser(uid, gid)


@contextmanager
def their_python(marker: Path) -> Iterator[Path]:
    """A Python "interpreter" another OS user owns: a script that appends to ``marker`` (so a
    test can tell it ran), then runs the real Python; removed afterwards."""
    user = other_user()
    folder = user.folder("np-python-")
    script = folder / "py"
    script.write_text(
        f'#!/bin/sh\necho ran >> {marker}\nexec {sys.executable} "$@"\n', encoding="utf-8"
    )
    script.chmod(0o755)
    user.give(folder)
    try:
        yield script
    finally:
        shutil.rmtree(folder, ignore_errors=True)
