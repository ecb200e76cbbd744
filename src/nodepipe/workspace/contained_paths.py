"""Paths built from names found in files or requests stay inside the folder they belong to.

Before nodepipe deletes, replaces or copies into a path made from such a name (a snapshot named
in pyproject.toml, say), ``contained`` checks that the path lies strictly inside its folder once
every symbolic link and ``..`` is resolved, and that the last step is not itself a link.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.domain.errors import InvalidInputError


def contained(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` if it lies strictly inside ``root`` and is not a symbolic link;
    InvalidInputError naming ``what`` otherwise. Nothing on disk is changed."""
    path = root / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        raise InvalidInputError(f"{what} {relative!r} is not a path inside {root}")
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved == resolved_root or not resolved.is_relative_to(resolved_root):
        raise InvalidInputError(f"{what} {relative!r} leads outside {root} (to {resolved})")
    if path.is_symlink():
        raise InvalidInputError(
            f"{what} {relative!r} is a symbolic link ({path}); nodepipe only replaces real folders"
        )
    return path
