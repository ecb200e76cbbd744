"""Credentials a URL may carry, left out: what nodepipe records (a snapshot's origin) or
prints back (a hint repeating the command typed) names the place, never the secret."""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit


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


_MASK = "***"

_URL_PASSWORD = re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s:@]*:)[^\s@/]*(?=@)")
"""The password of a URL's ``scheme://user:password@``, however it is encoded."""

_KEYWORD_PASSWORD = re.compile(
    r"""(?P<keep>password\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s'"]+)""",
    re.IGNORECASE,
)
"""The value of a ``password=…`` (or ``PGPASSWORD=…``) setting, as a libpq connection
string writes it: quoted (backslash escapes inside) or up to the next blank."""


def text_without_password(text: str, password: str | None) -> str:
    """``text`` (a database's error message) with the password masked where it stands as the
    credential it is: a URL's ``user:…@`` (any URL's, encoded or not), a ``password=…``
    setting, and ``password`` itself, in any of the forms it is written in (as typed,
    URL-encoded, escaped in a connection string), where it is quoted whole (``"…"``, as libpq
    quotes the values it repeats), between ``:`` and ``@`` or after ``password=``. Never the
    same characters inside an ordinary word: with password ``p``, "port 9 failed" stays."""
    if password:
        for form in _written_forms(password):
            text = _password_in_place(form).sub(_masked, text)
    text = _URL_PASSWORD.sub(_masked, text)
    return _KEYWORD_PASSWORD.sub(_masked, text)


def _written_forms(password: str) -> list[str]:
    escaped = password.replace("\\", "\\\\").replace("'", "\\'")
    forms = {password, quote(password, safe=""), quote(password), quote_plus(password), escaped}
    return sorted(forms, key=len, reverse=True)


def _password_in_place(form: str) -> re.Pattern[str]:
    word = re.escape(form)
    return re.compile(
        rf"(?<=:){word}(?=@)|(?P<keep>(?P<quote>[\"'])){word}(?P=quote)"
        rf"|(?P<setting>(?i:password)\s*=\s*[\"']?){word}"
    )


def _masked(found: re.Match[str]) -> str:
    groups = found.groupdict()
    before = groups.get("keep") or groups.get("setting") or ""
    after = groups.get("quote") or ""
    return f"{before}{_MASK}{after}"
