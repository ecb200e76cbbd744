"""A local Ray that nodepipe starts keeps its files from the machine's other users: its
sessions and its token.

Left to itself, Ray keeps its sessions in ``/tmp/ray`` (``$RAY_TMPDIR/ray``, ``$TMPDIR/ray``)
and makes that folder and each session's folders, its logs and its sockets among them, writable
by everyone, not sticky: any other user of the machine could read the logs, or remove and
replace the raylet's socket, and could make ``/tmp/ray`` first, so the cluster's files would be
theirs. nodepipe gives a local Ray ``<that base>/nodepipe-ray-<uid>/ray`` instead: Ray opens
that folder to all as it does ``/tmp/ray``, but the one around it is made 0700 and refused when
it is a link, another user's, or open to others, so whatever Ray makes inside stays out of
their reach.

Ray (2.52 and later) also turns token authentication on for a new local cluster and, finding no
token, writes one to ``~/.ray/auth_token`` with the process's umask (0644 in a home others may
enter: whoever reads it runs code on the cluster, whose ports listen on every interface).
nodepipe writes that file first, 0600 (and ``~/.ray`` 0700 when it makes it), as Ray would:
64 hex digits. A token already there, or given in ``RAY_AUTH_TOKEN`` or
``RAY_AUTH_TOKEN_PATH``, is the user's and is left alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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


TOKEN_VARIABLES = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def private_token() -> None:
    """Write ``~/.ray/auth_token`` (0600) for a local Ray when Ray would write it itself."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return
    if any(os.environ.get(name) for name in TOKEN_VARIABLES):
        return
    folder = Path.home() / ".ray"
    with contextlib.suppress(OSError):  # exists, or cannot be made: the open below tells
        folder.mkdir(mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(folder / "auth_token", flags, 0o600)
    except FileExistsError:
        return  # the user's token (or a link to it): Ray reads it
    except OSError:
        return  # no home to write in: Ray says what it needs
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_hex(32))
