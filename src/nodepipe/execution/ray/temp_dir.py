"""Where a local Ray that nodepipe starts keeps its session: a folder of this user's alone.

Left to itself, Ray keeps its sessions in ``/tmp/ray`` (``$RAY_TMPDIR/ray``, ``$TMPDIR/ray``)
and makes that folder and each session's folders, its logs and its sockets among them, writable
by everyone, not sticky: any other user of the machine could read the logs, or remove and
replace the raylet's socket, and could make ``/tmp/ray`` first, so the cluster's files would be
theirs. nodepipe gives a local Ray ``<that base>/nodepipe-ray-<uid>/ray`` instead: Ray opens
that folder to all as it does ``/tmp/ray``, but the one around it is made 0700 and refused when
it is a link, another user's, or open to others, so whatever Ray makes inside stays out of
their reach.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError


def private_temp_dir() -> str:
    """The folder for a local Ray's sessions, inside a private one of this user's (made 0700
    if missing)."""
    base = os.environ.get("RAY_TMPDIR") or (
        os.environ.get("TMPDIR") if sys.platform.startswith("linux") else None
    )
    folder = Path(base or "/tmp") / f"nodepipe-ray-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = folder.lstat()
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        raise InvalidInputError(
            f"the folder for a local Ray's files {folder} is not this user's alone (a link, "
            "another user's, or open to others); remove it, or set RAY_TMPDIR to a folder of "
            "yours"
        )
    return str(folder / "ray")  # Ray makes this one open to all: it is inside ours
