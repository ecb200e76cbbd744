"""Rendering results: ``--json`` (machine-readable) or rich text for people.

Names come from users and may hold ``[`` or ``:``: text quoting them is printed without markup
(:func:`done`), or with each name passed through ``rich.markup.escape`` (:func:`say`), so that
rich never reads a tag like ``x[/]`` as markup.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console(highlight=False, emoji=False)
error_console = Console(stderr=True, highlight=False, emoji=False)


def to_jsonable(value: Any) -> Any:
    """Domain values (frozen dataclasses, enums, datetimes, paths) as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")  # a private index, not data
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout, nothing else."""
    print(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def done(message: str) -> None:
    """Print a plain message (no markup: it may quote user-chosen names verbatim)."""
    console.print(message, markup=False)


def say(markup: str) -> None:
    """Print a message with rich markup; pass every user-chosen name in it through `escape`."""
    console.print(markup)


def print_error(message: str) -> None:
    """``error: <message>`` on stderr."""
    error_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
