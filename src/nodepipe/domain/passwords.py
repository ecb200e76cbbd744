"""Server passwords: how one is hashed for ``nodepipe.toml``, and how a given one is checked.

A hash reads ``scrypt$n=16384,r=8,p=1$<salt>$<key>`` (salt and key in URL-safe base64). scrypt
comes with Python's ``hashlib``; with a random salt per hash and 16 MiB per attempt, a copied
``nodepipe.toml`` is expensive to attack offline. The password itself is never stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from nodepipe.domain.errors import Action, Hint, InvalidInputError

MIN_LENGTH = 8
_COST = {"n": 2**14, "r": 8, "p": 1}
_MAX_N = 2**17
"""Refuse costs beyond this when checking: a hash edited by hand must not exhaust memory."""
_KEY_BYTES = 32
_FORMAT = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_=-]+)\$([A-Za-z0-9_=-]+)$")


def validate_password(password: str) -> str:
    """``password`` if it is acceptable; otherwise a message naming the rule."""
    if len(password) < MIN_LENGTH:
        raise InvalidInputError(f"a server password needs at least {MIN_LENGTH} characters")
    if password != password.strip():
        raise InvalidInputError("a server password may not start or end with blanks")
    return password


def hash_password(password: str) -> str:
    """The salted scrypt hash of ``password``, as written in ``[server] password``."""
    salt = secrets.token_bytes(16)
    key = _scrypt(validate_password(password), salt, _COST["n"], _COST["r"], _COST["p"])
    cost = ",".join(f"{name}={value}" for name, value in _COST.items())
    return f"scrypt${cost}${_encode(salt)}${_encode(key)}"


def check_hash(stored: str) -> str:
    """``stored`` if it is a hash this module can check; otherwise say what is wrong."""
    _parse(stored)
    return stored.strip()


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (compared in constant time)."""
    n, r, p, salt, expected = _parse(stored)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    match = _FORMAT.match(stored.strip())
    if match is not None:
        n, r, p = int(match[1]), int(match[2]), int(match[3])
        salt, key = _decode(match[4]), _decode(match[5])
        power_of_two = n > 1 and n & (n - 1) == 0
        if power_of_two and n <= _MAX_N and 0 < r * p <= 64 and salt and 16 <= len(key) <= 64:
            return n, r, p, salt, key
    raise InvalidInputError(
        "the [server] password in nodepipe.toml is not a hash nodepipe wrote",
        hint=Hint(Action.SERVER_PASSWORD),
    )


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int = _KEY_BYTES) -> bytes:
    memory = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=size
    )


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""
