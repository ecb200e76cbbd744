"""The page a browser without the session cookie gets: how to get in, and the password form.

Plain HTML with no script, so it works before the app (and its API access) does. It names the
token link; when the server has a password, it also offers the form that ``POST /login`` reads.
"""

from __future__ import annotations

from html import escape

LOGIN_PATH = "/login"

_STYLE = "font-family:system-ui;margin:4rem auto;max-width:40rem;padding:0 1rem;line-height:1.5"


def login_page(*, password: bool, next_path: str, message: str = "") -> str:
    """The page; ``next_path`` is where a successful login goes, ``message`` why it is shown."""
    form = (
        f'<form method="post" action="{LOGIN_PATH}">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<label>Password <input type="password" name="password" autocomplete="current-password"'
        " required autofocus></label> <button>Log in</button></form>"
        if password
        else ""
    )
    alert = f'<p role="alert"><strong>{escape(message)}</strong></p>' if message else ""
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f'<title>nodepipe: log in</title><body style="{_STYLE}"><main>'
        "<h1>This nodepipe server needs its token</h1>"
        f"{alert}"
        "<p>Open the link the server printed when it started: it ends with "
        "<code>?token=…</code>. Whoever started the server can show it again with "
        "<code>nodepipe server list</code>.</p>"
        f"{'<p>Or log in with the password of this server:</p>' + form if form else ''}"
        "</main></body></html>"
    )


def safe_next(path: str) -> str:
    """``path`` if it stays on this server (no other host, no scheme), else ``/``."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"
