"""Arguments of the Python API checked for their type where nothing below would say it well.

A path given as a number or a mapping given as text met ``TypeError`` or ``AttributeError``
deep inside (``'str' object has no attribute 'items'``); these refuse them first, as
``InvalidInputError`` naming what was expected (``names.listed`` does the same for lists).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from nodepipe.domain.errors import InvalidInputError

MAX_PART_BYTES = 255
"""The longest name of one file or folder Linux file systems take (NAME_MAX), in bytes."""
K = TypeVar("K")
V = TypeVar("V")


def path_of(value: Path | str, what: str) -> Path:
    """``value`` as a ``Path`` if it is one or is text; else refused, naming ``what``."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if "\x00" in str(path):
            raise InvalidInputError(f"{what} {str(path)[:80]!r} holds a NUL character")
        longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
        if longest > MAX_PART_BYTES:
            raise InvalidInputError(
                f"{what} {str(path)[:80]!r} has a part longer than {MAX_PART_BYTES} bytes, "
                "which no file system takes"
            )
        return path
    raise InvalidInputError(f"{what} is a path (text or a Path), not {value!r:.80}")


def mapping_of(value: Mapping[K, V], what: str) -> Mapping[K, V]:
    """``value`` if it is a mapping (a ``dict``); else refused, naming ``what``."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"give {what} as a dict, not {value!r:.80}")
    return value


def text_of(value: str, what: str) -> str:
    """``value`` if it is text; else refused, naming ``what``."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} is given as text, not {value!r:.80}")
    return value
