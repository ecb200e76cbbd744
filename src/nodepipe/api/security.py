"""The access guard: host names, origins of changing requests, credentials, and logging in.

A pure ASGI middleware (streams pass through untouched). In order, a request is refused when
it names a host the server does not answer to (loopback only: DNS rebinding), when it would
change something and comes from another site's page (its ``Origin`` is not the app's own), or
when it carries no credential. The token is required on every address, loopback included:
other users of the machine reach loopback too.

Credentials are never ambient: a browser sends cookies to every port of a host (RFC 6265
§8.5), so another user's server on the same host would receive one and could replay it. The
server sets no cookie and reads none. Credentials come as a header (``Authorization: Bearer``
or ``X-Nodepipe-Token``: the token, or the session value ``POST /login`` answers), as
``?token=`` (scripts; the token only), or as ``?ticket=`` (one address, GET only, for a
minute: see ``tickets``). The web app keeps its credential in the tab's ``sessionStorage``,
which only its own origin (scheme, host and port) can read, and sends it as a header.

Only the app shell is served without a credential: GET and HEAD of a path outside ``/api/``
(the built static files: no data, no secrets); that is how the page opened from the printed
link reads its ``?token=``, and how a page without a credential shows the login form.
``/login`` tells whether the server takes a password (GET) and checks one (POST), answering
the session value in JSON. The session value is an HMAC of the token and the password hash,
so it is worthless once either changes and tells a password user nothing about the token.
Tokens, session values, tickets and passwords are compared in constant time; one password
check runs at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from nodepipe.api import tickets
from nodepipe.api.errors import API_PATH
from nodepipe.api.settings import ServerSettings
from nodepipe.domain.passwords import verify_password

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_METHODS = frozenset({"GET", "HEAD"})
TOKEN_HEADER = "x-nodepipe-token"
LOGIN_PATH = "/login"
_MAX_LOGIN_BODY = 4096
_NO_STORE = {"Cache-Control": "no-store"}


def session_value(settings: ServerSettings) -> str:
    """What ``POST /login`` answers: a credential derived from the token and the password hash."""
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
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        misdirected = self._misdirected(scope, headers)
        if misdirected is not None:
            return misdirected
        if scope["path"] == LOGIN_PATH and scope["type"] == "http":
            return await self._login(scope, receive)
        if _is_shell(scope) or self._authorized(scope, headers, query):
            return None
        return _error(
            401,
            "unauthorized",
            "this server needs its token: open the link it printed when it started",
            {"WWW-Authenticate": "Bearer"},
        )

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

    def _authorized(self, scope: Scope, headers: Headers, query: list[tuple[str, str]]) -> bool:
        token = self.settings.token
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        sent = [
            credentials.strip() if scheme.lower() == "bearer" else "",
            headers.get(TOKEN_HEADER, ""),
        ]
        if any(value and (_same(value, token) or _same(value, self.session)) for value in sent):
            return True
        given = dict(query)
        if given.get("token") and _same(given["token"], token):
            return True
        ticket = given.get(tickets.TICKET_PARAM, "")
        return bool(
            ticket
            and scope.get("method") in READ_METHODS
            and tickets.admits(
                self.settings, ticket, tickets.address(scope["path"], query), time.time()
            )
        )

    async def _login(self, scope: Scope, receive: Receive) -> Response:
        """``GET /login``: how to log in; ``POST /login``: the session value for the password."""
        password = self.settings.password_hash
        if scope["method"] in READ_METHODS:
            return JSONResponse({"password": password is not None}, headers=_NO_STORE)
        if scope["method"] != "POST":
            return _error(405, "method_not_allowed", "use GET or POST on /login")
        if password is None:
            return _error(
                401, "no_password", "this server has no password: open the link it printed"
            )
        given = await _password_of(Request(scope, receive))
        async with self.login_lock:
            accepted = await run_in_threadpool(verify_password, given, password)
        if not accepted:
            return _error(401, "wrong_password", "Wrong password.")
        return JSONResponse({"session": self.session}, headers=_NO_STORE)


async def _password_of(request: Request) -> str:
    """The ``password`` of a small JSON or urlencoded body; empty for anything else."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_LOGIN_BODY:
            return ""
    text = body.decode("utf-8", "replace")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            fields = json.loads(text)
        except ValueError:
            return ""
        value = fields.get("password") if isinstance(fields, dict) else None
        return value if isinstance(value, str) else ""
    return dict(parse_qsl(text)).get("password", "")


def _is_shell(scope: Scope) -> bool:
    """A read of the app shell (the built static files), which needs no credential."""
    return (
        scope["type"] == "http"
        and scope["method"] in READ_METHODS
        and not scope["path"].startswith(API_PATH)
    )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _hostname(host_header: str) -> str:
    """The host name of a ``Host`` header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"kind": kind, "message": message}, status_code=status, headers=headers)
