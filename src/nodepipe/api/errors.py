"""The one mapping from nodepipe errors to HTTP statuses, and the JSON every error answers with.

404 an unknown (or ambiguous) name, 409 a conflict (a cycle, a duplicate, a locked node or a
reference edited where it is read-only), 422 malformed input (a bad name, YAML that does not
parse, a body that does not validate). A user's mistake is never a 500; a 5xx means nodepipe
itself, uv or the store failed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nodepipe.api.schemas.common import ErrorPublic
from nodepipe.domain.errors import (
    AmbiguousNameError,
    ConflictError,
    CycleError,
    EnvironmentBuildError,
    InvalidInputError,
    NodepipeError,
    NotFoundError,
    ReadOnlyError,
    WorkspaceError,
)

STATUSES: tuple[tuple[type[NodepipeError], int, str], ...] = (
    (CycleError, 409, "cycle"),
    (ReadOnlyError, 409, "read_only"),
    (ConflictError, 409, "conflict"),
    (AmbiguousNameError, 404, "ambiguous"),
    (NotFoundError, 404, "not_found"),
    (InvalidInputError, 422, "invalid_input"),
    (EnvironmentBuildError, 502, "environment"),
    (WorkspaceError, 503, "workspace"),
    (NodepipeError, 400, "error"),
)
"""Most specific first: (error class, HTTP status, ``kind`` in the JSON body)."""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "An unknown or ambiguous name"},
    409: {"model": ErrorPublic, "description": "A conflict: cycle, duplicate, read-only"},
    422: {"model": ErrorPublic, "description": "Malformed input"},
}
"""Declared on every router so the OpenAPI document (and the web client) know the error shape."""


def describe(error: BaseException) -> tuple[int, ErrorPublic]:
    """The HTTP status and body for ``error``; anything not a NodepipeError is a 500."""
    if isinstance(error, NodepipeError):
        for error_type, status, kind in STATUSES:
            if isinstance(error, error_type):
                cycle = error.cycle if isinstance(error, CycleError) else None
                return status, ErrorPublic(kind=kind, message=str(error), cycle=cycle)
    name = type(error).__name__
    return 500, ErrorPublic(kind="internal", message=f"nodepipe failed unexpectedly: {name}")


def _respond(error: BaseException) -> JSONResponse:
    status, body = describe(error)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


async def _nodepipe_error(_: Request, error: Exception) -> JSONResponse:
    return _respond(error)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [_problem(item) for item in error.errors()]
    body = ErrorPublic(
        kind="invalid_input",
        message="; ".join(problems) or "the request does not validate",
        details=[{"loc": list(e.get("loc", ())), "msg": str(e.get("msg"))} for e in error.errors()],
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


def _problem(item: Any) -> str:
    location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
    return f"{location}: {item.get('msg')}" if location else str(item.get("msg"))


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    kind = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http")
    body = ErrorPublic(kind=kind, message=str(error.detail))
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
    return _respond(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NodepipeError, _nodepipe_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
