"""The access guard: host names, origins of changing requests, and the token.

A pure ASGI middleware (streams pass through untouched). In order, a request is refused when
it names a host the server does not answer to (loopback only: DNS rebinding), when it would
change something and comes from another site's page (its ``Origin`` is not the app's own), or
when a token is required and the request carries none of: ``Authorization: Bearer``, the
``X-Nodepipe-Token`` header, the cookie, or ``?token=``. A page opened with ``?token=`` gets
the cookie and is redirected to the same address without the token.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from nodepipe.api.settings import ServerSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "x-nodepipe-token"

_LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>nodepipe: token needed</title>
<body style="font-family:system-ui;margin:4rem;max-width:40rem">
<h1>This nodepipe server needs its token</h1>
<p>Open the link that <code>nodepipe serve</code> printed when it started; it ends with
<code>?token=…</code>.</p></body>"""


def cookie_name(settings: ServerSettings) -> str:
    """Cookies ignore ports, so servers on one host must not share a cookie name."""
    return f"nodepipe_token_{settings.port}"


class AccessGuard:
    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.origins = frozenset(settings.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        host = _hostname(headers.get("host", ""))
        allowed = self.settings.allowed_hosts
        if allowed is not None and host not in allowed:
            return _error(403, "forbidden_host", f"this server does not answer to host {host!r}")
        origin = headers.get("origin")
        if origin and scope["method"] not in SAFE_METHODS and not self._own(origin, headers):
            return _error(403, "forbidden_origin", f"requests from {origin} may not change data")
        if self.settings.token is None:
            return None
        return self._token_refusal(scope, headers)

    def _own(self, origin: str, headers: Headers) -> bool:
        return origin in self.origins or origin == f"http://{headers.get('host', '')}"

    def _token_refusal(self, scope: Scope, headers: Headers) -> Response | None:
        token = self.settings.token
        assert token is not None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = [
            headers.get("authorization", "").removeprefix("Bearer ").strip(),
            headers.get(TOKEN_HEADER, ""),
            _cookies(headers).get(cookie_name(self.settings), ""),
        ]
        if any(value and secrets.compare_digest(value, token) for value in given):
            return None
        from_query = query.get("token", "")
        if from_query and secrets.compare_digest(from_query, token):
            if scope["method"] == "GET" and not scope["path"].startswith("/api/"):
                return self._redirect_with_cookie(scope, query)
            return None
        if scope["path"].startswith("/api/"):
            return _error(401, "unauthorized", "this server needs its token (see nodepipe serve)")
        return HTMLResponse(_LOGIN_PAGE, status_code=401)

    def _redirect_with_cookie(self, scope: Scope, query: dict[str, str]) -> Response:
        rest = urlencode({k: v for k, v in query.items() if k != "token"})
        response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
        assert self.settings.token is not None
        response.set_cookie(
            cookie_name(self.settings), self.settings.token, httponly=True, samesite="strict"
        )
        return response


def _hostname(host_header: str) -> str:
    """The host name of a ``Host`` header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header carries no token
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _error(status: int, kind: str, message: str) -> Response:
    return JSONResponse({"kind": kind, "message": message}, status_code=status)
