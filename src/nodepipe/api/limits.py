"""The body limit: the API reads at most ``MAX_BODY_BYTES`` of a request body, and at most
``MAX_UPLOAD_BYTES`` of an upload (``UPLOAD_PATHS``: a bundle as a .zip, a package file; either
may carry data).

A larger body is refused with 413 and nodepipe's error body before the app holds it: at once
when ``Content-Length`` says so, or as soon as a streamed body goes over. (The framework's own
limit answers in plain text, which is not what the API documents.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The biggest real bodies, parameters and the positions of a large canvas, are far smaller."""
MAX_UPLOAD_BYTES = 2 * 1024**3
"""An uploaded bundle (``POST /api/bundles``): code, locks and, exported with data, outputs.
The archive's own limits (members, expanded size, ratio) are checked when it is unpacked."""
UPLOAD_PATHS = frozenset({"/api/bundles", "/api/packages/upload"})
"""The routes whose body is an upload, with the larger limit."""


def too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


def limit_of(path: str, max_bytes: int) -> int:
    """The body limit of a request to ``path`` (``max_bytes`` unless it is an upload)."""
    return max(max_bytes, MAX_UPLOAD_BYTES) if path in UPLOAD_PATHS else max_bytes


class BodyLimit:
    """A pure ASGI middleware (streams pass through untouched)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_of(scope["path"], self.max_bytes)
        refusal = too_large(limit)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"kind": "too_large", "message": refusal}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, refusal)  # answered by the app's error handler
            return message

        await self.app(scope, limited, send)
