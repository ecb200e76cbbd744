"""The access guard: host names, origins of changing requests, the token, and logging in.

A pure ASGI middleware (streams pass through untouched). In order, a request is refused when
it names a host the server does not answer to (loopback only: DNS rebinding), when it would
change something and comes from another site's page (its ``Origin`` is not the app's own), or
when it carries neither the token (``Authorization: Bearer``, ``X-Nodepipe-Token`` or
``?token=``) nor the session cookie. The token is required on every address, loopback included:
other users of the machine reach loopback too. API requests are refused with 401; a page gets
the login page. A page opened with ``?token=`` gets the cookie and is redirected to the same
address without the token; ``POST /login`` with the configured password sets it too.

The cookie never holds the token: it holds an HMAC of the token and the password hash, so it
is worthless once either changes and tells a password user nothing about the token. Tokens,
cookies and passwords are compared in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from nodepipe.api.login_page import LOGIN_PATH, login_page, safe_next
from nodepipe.api.settings import ServerSettings
from nodepipe.domain.passwords import verify_password

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "x-nodepipe-token"
_MAX_LOGIN_BODY = 4096


def cookie_name(settings: ServerSettings) -> str:
    """Cookies ignore ports, so servers on one host must not share a cookie name."""
    return f"nodepipe_session_{settings.port}"


def session_value(settings: ServerSettings) -> str:
    """The session cookie's value: derived from the token and the password hash."""
    message = b"nodepipe session\0" + (settings.password_hash or "").encode()
    return hmac.new(settings.token.encode(), message, hashlib.sha256).hexdigest()


class AccessGuard:
    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.origins = frozenset(settings.origins)
        self.session = session_value(settings)
        self.login_lock = asyncio.Lock()
        """One password check at a time: scrypt is costly on purpose."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(scope, receive)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await refusal(scope, receive, send)

    async def _refusal(self, scope: Scope, receive: Receive) -> Response | None:
        """What to answer instead of the app, or None to let the request through."""
        headers = Headers(scope=scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        misdirected = self._misdirected(scope, headers)
        if misdirected is not None:
            return misdirected
        if scope["path"] == LOGIN_PATH and scope["type"] == "http":
            return await self._login(scope, receive, query.get("next", "/"))
        if not self._authorized(headers, query):
            return self._unauthorized(scope)
        if "token" in query and _is_page(scope):
            return self._redirect_with_cookie(scope["path"], query)
        return None

    def _misdirected(self, scope: Scope, headers: Headers) -> Response | None:
        host = _hostname(headers.get("host", ""))
        allowed = self.settings.allowed_hosts
        if allowed is not None and host not in allowed:
            return _error(403, "forbidden_host", f"this server does not answer to host {host!r}")
        origin = headers.get("origin")
        changes = scope.get("method", "GET") not in SAFE_METHODS
        if origin and changes and not self._own(origin, headers):
            return _error(403, "forbidden_origin", f"requests from {origin} may not change data")
        return None

    def _own(self, origin: str, headers: Headers) -> bool:
        return origin in self.origins or origin == f"http://{headers.get('host', '')}"

    def _authorized(self, headers: Headers, query: dict[str, str]) -> bool:
        token = self.settings.token
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        given = [
            credentials.strip() if scheme.lower() == "bearer" else "",
            headers.get(TOKEN_HEADER, ""),
            query.get("token", ""),
        ]
        cookie = _cookies(headers).get(cookie_name(self.settings), "")
        return any(value and _same(value, token) for value in given) or bool(
            cookie and _same(cookie, self.session)
        )

    def _unauthorized(self, scope: Scope) -> Response:
        if not _is_page(scope):
            return _error(
                401,
                "unauthorized",
                "this server needs its token: open the link it printed when it started",
                {"WWW-Authenticate": "Bearer"},
            )
        rest = scope.get("query_string", b"").decode("latin-1")
        here = scope["path"] + (f"?{rest}" if rest else "")
        return self._page(401, here, "")

    def _page(self, status: int, next_path: str, message: str) -> Response:
        page = login_page(
            password=self.settings.password_hash is not None,
            next_path=safe_next(next_path),
            message=message,
        )
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})

    async def _login(self, scope: Scope, receive: Receive, then: str) -> Response:
        """``GET /login`` shows the page; ``POST /login`` checks the password."""
        if scope["method"] in ("GET", "HEAD"):
            return self._page(200, then, "")
        if scope["method"] != "POST":
            return _error(405, "method_not_allowed", "use GET or POST on /login")
        form = await _form(Request(scope, receive))
        next_path = safe_next(form.get("next", "/"))
        if self.settings.password_hash is None:
            return self._page(401, next_path, "This server has no password: use its link.")
        async with self.login_lock:
            accepted = await run_in_threadpool(
                verify_password, form.get("password", ""), self.settings.password_hash
            )
        if not accepted:
            return self._page(401, next_path, "Wrong password.")
        return self._with_cookie(RedirectResponse(next_path, 303))

    def _redirect_with_cookie(self, path: str, query: dict[str, str]) -> Response:
        rest = urlencode({k: v for k, v in query.items() if k != "token"})
        return self._with_cookie(RedirectResponse(path + (f"?{rest}" if rest else ""), 303))

    def _with_cookie(self, response: Response) -> Response:
        response.set_cookie(
            cookie_name(self.settings), self.session, httponly=True, samesite="strict"
        )
        return response


async def _form(request: Request) -> dict[str, str]:
    """The fields of a small urlencoded form (the login page's); anything else is empty."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_LOGIN_BODY:
            return {}
    return dict(parse_qsl(body.decode("utf-8", "replace")))


def _is_page(scope: Scope) -> bool:
    """A browser page (not the API): answered with HTML, and redirected after a token link."""
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and not scope["path"].startswith("/api/")
    )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


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


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"kind": kind, "message": message}, status_code=status, headers=headers)
