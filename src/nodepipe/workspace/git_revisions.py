"""The commit a git checkout has checked out, read from its ``.git`` folder (no subprocess: a
status of many nodes reads it for every snapshot)."""

from __future__ import annotations

from pathlib import Path

from nodepipe.workspace.regular_files import read_regular_bytes

SHORT = 7


def head_commit(checkout: Path) -> str | None:
    """The full hash of HEAD's commit in ``checkout/.git``; None if it is not a git clone (or
    its HEAD cannot be read)."""
    git = checkout / ".git"
    try:
        head = read_regular_bytes(git / "HEAD").decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not head.startswith("ref: "):
        return head or None
    ref = head.removeprefix("ref: ").strip()
    try:
        return read_regular_bytes(git / ref).decode("utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return _packed(git, ref)


def _packed(git: Path, ref: str) -> str | None:
    try:
        lines = read_regular_bytes(git / "packed-refs").decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        commit, _, name = line.partition(" ")
        if name.strip() == ref:
            return commit
    return None
