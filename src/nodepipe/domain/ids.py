"""Short, unique, folder-safe identifiers for projects, pipelines, nodes and groups.

Ids are 8 characters from an alphabet without look-alikes (no 0/o, 1/l/i) and always hold a
digit, so an id can never be mistaken for an ordinary word used as a tag.
"""

from __future__ import annotations

import os
import re

ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 8
ID_PATTERN = re.compile(rf"^[{ID_ALPHABET}]{{{ID_LENGTH}}}$")
_DIGITS = "23456789"
_FAIR = 256 - 256 % len(ID_ALPHABET)
"""Random bytes from this one up are dropped, so that every letter is as likely."""


def new_id() -> str:
    """Return a fresh random id (collisions are checked by the store on insert).

    Drawn from the system's random source, as ``secrets`` does, without importing it (and
    ``random``, ``hmac``, ``base64`` through it): a run makes ids before its first node
    starts."""
    while True:  # about one draw in eleven holds no digit and is drawn again
        letters = [ID_ALPHABET[b % len(ID_ALPHABET)] for b in os.urandom(16) if b < _FAIR]
        candidate = "".join(letters[:ID_LENGTH])
        if len(candidate) == ID_LENGTH and any(ch in _DIGITS for ch in candidate):
            return candidate


def looks_like_id(value: str) -> bool:
    """True when ``value`` has the exact shape of an id."""
    return bool(ID_PATTERN.match(value)) and any(ch in _DIGITS for ch in value)
