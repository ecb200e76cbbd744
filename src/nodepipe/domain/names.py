"""Validation of human names: project names, pipeline and node tags, group names, slot labels."""

from __future__ import annotations

import re
import unicodedata

from nodepipe.domain.errors import InvalidInputError

MAX_NAME_LENGTH = 100
SLOT_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")


def validate_name(value: str, what: str) -> str:
    """Return ``value`` if it is a usable name, else raise InvalidInputError saying why.

    Names appear in folder listings, URLs and shells, so they may not hold ``/`` or ``\\``,
    ``..``, control characters, or leading/trailing blanks.
    """
    problem = _name_problem(value)
    if problem:
        raise InvalidInputError(f"invalid {what} {value!r}: {problem}")
    return value


def _name_problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"it is longer than {MAX_NAME_LENGTH} characters"
    if value != value.strip():
        return "it starts or ends with a blank"
    if "/" in value or "\\" in value:
        return "it contains a slash; use letters, digits, '-', '_' or '.'"
    if ".." in value:
        return "it contains '..'"
    if value.startswith("-"):
        return "it starts with '-', which reads like a command-line option"
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in value):
        return "it contains a control character"
    return None


def validate_slot(value: str) -> str:
    """Return ``value`` if it is a valid slot label (``01``, ``train``...), else raise."""
    if not SLOT_PATTERN.match(value) or ".." in value:
        raise InvalidInputError(
            f"invalid slot {value!r}: use 1-32 letters, digits, '_', '-' or '.' (e.g. 01 or train)"
        )
    return value


def next_free_slot(used: set[str]) -> str:
    """The first numbered slot label (``01``, ``02``...) not in ``used``."""
    number = 1
    while f"{number:02d}" in used:
        number += 1
    return f"{number:02d}"
