"""TOML read without exhausting the stack.

Python's ``tomllib`` parses nested arrays and inline tables recursively, so a few kilobytes of
``[[[[…]]]]`` in a file from anyone (a bundle's ``pipeline.toml``, a node's ``pyproject.toml``
or ``uv.lock``, an sdist's ``pyproject.toml``) raised RecursionError out of every command that
read it. ``load_toml`` reads such text as malformed TOML: ``tomllib.TOMLDecodeError``, which
each reader already tells in its own words.
"""

from __future__ import annotations

import tomllib
from typing import Any


def load_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads(text)``; TOMLDecodeError also when its values nest too deeply to read,
    and one that names the fix for a byte-order mark (Windows editors write one; TOML has
    none, and tomllib said only "Invalid statement (at line 1, column 1)")."""
    if text.startswith("\ufeff"):
        raise tomllib.TOMLDecodeError(
            "it starts with a byte-order mark (BOM), which TOML does not allow; save it as "
            "UTF-8 without one"
        )
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError(
            "values nested too deeply (arrays or inline tables inside one another)"
        ) from None
