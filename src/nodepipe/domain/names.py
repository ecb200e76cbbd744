"""Validation of human names: project names, pipeline and node tags, group names, slot labels.

Each rule is also spelled as one regular expression (``name_pattern``, ``SLOT_PATTERN``) that
accepts exactly what the rule accepts, for documents such as the API's OpenAPI schema.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from typing import TypeVar

from nodepipe.domain.errors import InvalidInputError

MAX_NAME_LENGTH = 100
NAME_RULE = (
    "no '/', '\\', '..', control characters, leading or trailing blanks, or leading '-'; "
    f"not '.' alone; at most {MAX_NAME_LENGTH} characters"
)
"""The rule of ``validate_name`` in words: what a refusal for a slash says a name may hold
(anything else is allowed: blanks inside, '#', accents), and what the API documents."""
SLOT_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$"
"""A slot label: 1-32 letters, digits, ``_``, ``-`` or ``.``, not starting with ``-`` or ``.``,
without ``..``."""
T = TypeVar("T")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Control and format characters, line and paragraph separators."""
_SCANNED_PLANES = (range(0x20000), range(0xE0000, 0xE1000))
"""Where Unicode puts such characters and blanks (planes 0, 1 and 14; the rest are letters,
private use or unassigned)."""


def listed(values: Iterable[T], what: str) -> list[T]:
    """``values`` as a list; a lone string is refused, naming the list it should be (Python
    would read ``"plot"`` as the names ``p``, ``l``, ``o``, ``t``)."""
    if isinstance(values, str):
        raise InvalidInputError(
            f"give {what} as a list, like [{values!r}], not the text {values!r}"
        )
    if isinstance(values, (bytes, bytearray, dict)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"give {what} as a list of text, not {_shown(values)}")
    return list(values)


def _shown(value: object) -> str:
    """``value`` as a message shows it: its repr, cut short (a list nested 500 deep is not
    printed whole)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def named_by_text(value: object, what: str) -> str:
    """``value`` if it is text; else InvalidInputError: a number, None or a ``Path`` given
    as a name from Python is refused in nodepipe's words, not met by a ``TypeError`` below."""
    if not isinstance(value, str):
        raise InvalidInputError(f"a {what} is named by text (its id or name), not {value!r:.80}")
    unencodable = _unencodable(value)
    if unencodable:
        raise InvalidInputError(f"no {what} is named {value[:80]!r}: {unencodable}")
    return value


def notes_text(value: str) -> str:
    """``value`` if it is notes the store can keep: text that UTF-8 can hold."""
    if not isinstance(value, str):
        raise InvalidInputError(f"notes are text, not {value!r:.80}")
    unencodable = _unencodable(value)
    if unencodable:
        raise InvalidInputError(f"the notes cannot be kept: {unencodable}")
    return value


def _unencodable(value: str) -> str | None:
    """Why ``value`` cannot be stored as UTF-8 (a lone surrogate: how Python reads a byte of a
    file name or command line that is not UTF-8), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"it holds {value[exc.start : exc.end]!r}, which is not a character UTF-8 can hold"
    return None


def validate_name(value: str, what: str) -> str:
    """Return ``value`` if it is a usable name, else raise InvalidInputError saying why.

    Names appear in folder listings, URLs and shells, so they may not hold ``/`` or ``\\``,
    ``..``, control characters, or leading/trailing blanks, nor be ``.`` (the folder itself in
    a path, dropped from a URL).
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"invalid {what} {value!r}: a name is text")
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
        return f"it contains a slash; a name has {NAME_RULE}"
    if ".." in value:
        return "it contains '..'"
    if value == ".":
        return "it is '.', which paths read as the folder it is in"
    if value.startswith("-"):
        return "it starts with '-', which reads like a command-line option"
    if any(_forbidden(ch) for ch in value):
        return "it contains a control character"
    return _unencodable(value)


def _forbidden(ch: str) -> bool:
    return unicodedata.category(ch) in _FORBIDDEN_CATEGORIES


@cache
def name_pattern() -> str:
    """The rules of ``validate_name`` as one regular expression (ECMA-262 and Python alike).

    Built from this interpreter's Unicode database, so it agrees with ``validate_name`` on
    every string; computed once, on first use (it scans about 135,000 code points).
    """
    anywhere = _character_class(lambda ch: _forbidden(ch) or ch in "/\\")
    at_ends = anywhere + _character_class(str.isspace)
    inner = MAX_NAME_LENGTH - 2
    return rf"^(?!-)(?!.*\.\.)(?!\.$)[^{at_ends}](?:[^{anywhere}]{{0,{inner}}}[^{at_ends}])?$"


def _character_class(member: Callable[[str], bool]) -> str:
    """The ranges of code points for which ``member`` holds, as the inside of ``[...]``."""
    ranges: list[tuple[int, int]] = []
    for plane in _SCANNED_PLANES:
        for code in plane:
            if not member(chr(code)):
                continue
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(_escaped(a) if a == b else f"{_escaped(a)}-{_escaped(b)}" for a, b in ranges)


def _escaped(code: int) -> str:
    """``\\uXXXX`` in the Basic Multilingual Plane; the character itself beyond it (ECMA-262
    without the ``u`` flag has no escape for those, and every engine reads the character)."""
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def validate_slot(value: str) -> str:
    """Return ``value`` if it is a valid slot label (``01``, ``train``...), else raise."""
    if not re.fullmatch(SLOT_PATTERN, value):
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
