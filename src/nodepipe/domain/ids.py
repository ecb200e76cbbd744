"""Short, unique, folder-safe identifiers for projects, pipelines, nodes and groups.

Ids are 8 characters from an alphabet without look-alikes (no 0/o, 1/l/i) and always hold a
digit, so an id can never be mistaken for an ordinary word used as a tag.
"""

from __future__ import annotations

import re
import secrets

ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 8
ID_PATTERN = re.compile(rf"^[{ID_ALPHABET}]{{{ID_LENGTH}}}$")
_DIGITS = "23456789"


_UNBIASED = 256 - 256 % len(ID_ALPHABET)
"""Random bytes below this map evenly onto the alphabet."""


def new_id() -> str:
    """Return a fresh random id (collisions are checked by the store on insert).

    One read of the system's random source per id: a claim of many node runs makes many.
    """
    while True:
        raw = secrets.token_bytes(2 * ID_LENGTH)
        chars = [ID_ALPHABET[b % len(ID_ALPHABET)] for b in raw if b < _UNBIASED][:ID_LENGTH]
        if len(chars) == ID_LENGTH and any(ch in _DIGITS for ch in chars):
            return "".join(chars)


def looks_like_id(value: str) -> bool:
    """True when ``value`` has the exact shape of an id."""
    return bool(ID_PATTERN.match(value)) and any(ch in _DIGITS for ch in value)
