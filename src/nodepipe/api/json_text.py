"""JSON bodies hold text that can be stored: a string with a lone surrogate (``"\\ud800"``,
an escape JSON allows but no UTF-8 can encode) is refused as malformed JSON, a 422, before a
route reads the body, instead of failing where the text is written to the store or a file (a
500, after whatever came before it was done).

Every REST route is a ``TextRoute`` (``routing.resource_router``): its request parses JSON
with that check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class TextRequest(Request):
    """A request whose ``json()`` refuses strings no UTF-8 encodes."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            value = json.loads(body)
            check_text(value, body.decode("utf-8", errors="replace"))
            self._json = value
        return self._json


def check_text(value: Any, document: str) -> None:
    """Raise ``JSONDecodeError`` (at the escape) if a key or string in ``value`` holds a lone
    surrogate. The walk is a loop, not recursion: a body may nest as deep as it parses."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
            texts = list(item)
        elif isinstance(item, list):
            pending.extend(item)
            continue
        elif isinstance(item, str):
            texts = [item]
        else:
            continue
        for text in texts:
            if not text.isascii():
                _check_encodable(text, document)


def _check_encodable(text: str, document: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        escape = f"\\u{ord(text[error.start]):04x}"
        position = max(document.lower().find(escape), 0)
        message = f"{escape} is half of a UTF-16 pair, not a character"
        raise json.JSONDecodeError(message, document, position) from error


class TextRoute(APIRoute):
    """A route whose handler gets a ``TextRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(TextRequest(request.scope, request.receive))

        return checked
