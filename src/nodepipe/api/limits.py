"""The body limit: the API reads at most ``MAX_BODY_BYTES`` of a request body.

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
TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES} bytes"


class BodyLimit:
    """A pure ASGI middleware (streams pass through untouched)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"kind": "too_large", "message": TOO_LARGE}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, TOO_LARGE)  # answered by the app's error handler
            return message

        await self.app(scope, limited, send)
