"""Credentials a URL may carry, left out: what nodepipe records (a snapshot's origin) or
prints back (a hint repeating the command typed) names the place, never the secret."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def without_credentials(origin: str) -> str:
    """``origin`` without the credentials a URL may carry, as uv leaves them out of uv.lock:
    all of an http(s) URL's ``user:password@`` (a token is often the user), an ssh URL's
    password (its user, ``git@``, names no secret). Git's credential helper, netrc or the SSH
    agent give them when the snapshot is updated. A folder or scp-like ``git@host:path`` is
    returned as it is."""
    parts = urlsplit(origin)
    if "@" not in parts.netloc or "://" not in origin:
        return origin
    userinfo, host = parts.netloc.rsplit("@", 1)
    if parts.scheme.endswith("ssh"):
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    else:
        netloc = host
    return urlunsplit(parts._replace(netloc=netloc))


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@")
"""A URL's ``scheme://user[:password]@``, anywhere in a word (up to the last ``@`` before
the path, as the host is found)."""


def text_without_credentials(word: str) -> str:
    """``word`` (a word of a command, as a hint repeats it) with the credentials of every URL
    in it left out, wherever the URL starts (``https://user:token@…``, ``--index-url=NAME=
    https://user:token@…``), the rest kept; an ssh URL keeps its user (``git@`` names no
    secret), as ``without_credentials``."""
    return _USERINFO.sub(_scheme_only, word)


def _scheme_only(found: re.Match[str]) -> str:
    scheme = found["scheme"]
    user = found["userinfo"].split(":", 1)[0]
    return f"{scheme}{user}@" if scheme.lower().endswith("ssh://") and user else scheme
