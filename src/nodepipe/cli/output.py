"""Rendering results: ``--json`` (machine-readable) or rich text for people."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console

console = Console(highlight=False)
error_console = Console(stderr=True, highlight=False)


def to_jsonable(value: Any) -> Any:
    """Domain values (frozen dataclasses, enums, datetimes, paths) as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
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
    console.print(message)
