"""``/api/docs``: the browsable API reference (Swagger UI), reached with the token like every
API address (``/api/docs?token=TOKEN`` in a browser).

The page loads the OpenAPI document with a plain GET that cannot send the token: it is given a
one-minute ticket for that one address (``nodepipe.api.tickets``), never the token.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from nodepipe.api import tickets
from nodepipe.api.settings import ServerSettings


def add_docs(app: FastAPI, settings: ServerSettings, docs_path: str, openapi_path: str) -> None:
    """Serve Swagger UI at ``docs_path``, reading the document at ``openapi_path``."""

    @app.get(docs_path, include_in_schema=False)
    def docs() -> HTMLResponse:
        ticket = tickets.mint(settings, tickets.address(openapi_path, []), time.time())
        return get_swagger_ui_html(
            openapi_url=f"{openapi_path}?{tickets.TICKET_PARAM}={ticket}",
            title=f"{app.title}: API",
        )
