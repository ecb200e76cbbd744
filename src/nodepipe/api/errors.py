"""Error handlers: every error answers with ``ErrorPublic`` and the status ``STATUSES`` (in
``nodepipe.schemas.errors``, shared with the CLI's ``--json``) gives it (what the OpenAPI
document says of them is in ``routing``).

404 an unknown (or ambiguous) name; 409 the workspace's state stands in the way (a cycle, a
duplicate, a locked node or a reference edited where it is read-only); 422 the request cannot be
done as asked (a bad name, YAML that does not parse, a body that does not validate, a package,
version or Python that does not exist, requirements no versions satisfy together, a conda
package nodepipe refuses to install): change the request, not the workspace. A user's
mistake is never a 5xx: 502 means uv failed for a reason of its own, 503 that the package
index cannot be reached or the workspace's disk or store failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nodepipe.api.methods import documented_methods
from nodepipe.api.schemas.fields import RULE_ERROR
from nodepipe.domain.errors import NodepipeError
from nodepipe.schemas.errors import ErrorPublic, describe

API_PATH = "/api/"
_FRAMEWORK_KINDS = {404: "not_found", 413: "too_large"}


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
    """One validation error as a sentence: a domain rule's as it is (it names the value and
    says what is wrong), the framework's own after the field it is about (``x: Input should
    be a valid number``), a body that does not parse with the parser's reason;
    ``details`` keep the location of each."""
    if item.get("type") == RULE_ERROR:
        return str(item.get("msg"))
    if item.get("type") == "json_invalid":  # its location is a character of the body
        where = item.get("loc", ())[-1]
        reason = (item.get("ctx") or {}).get("error", "")
        return f"the body is not JSON (at character {where}): {reason}".removesuffix(": ")
    location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
    return f"{location}: {item.get('msg')}" if location else str(item.get("msg"))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    """The framework's own refusals, in nodepipe's error body.

    A body that cannot be decoded at all (not UTF-8, nested too deep to parse) is malformed
    input like any other: 422, not the framework's 400. A 405 names in ``Allow`` every method
    of the path, not only those of the first route that matched it; under ``/api``, a path
    with no methods at all is a 404.
    """
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:
        return _error_response(422, "invalid_input", f"malformed request: {error.detail}")
    if error.status_code == 405:
        return _method_not_allowed(request)
    kind = _FRAMEWORK_KINDS.get(error.status_code, "http")
    return _error_response(error.status_code, kind, str(error.detail), error.headers)


def _method_not_allowed(request: Request) -> JSONResponse:
    path = request.url.path
    methods = documented_methods(request.app.openapi(), path)
    if not methods and path.startswith(API_PATH):
        return _error_response(404, "not_found", f"no API route {path}")
    allow = ", ".join(methods or ["GET"])  # outside the API: the web app's pages
    message = f"{request.method} is not allowed here; allowed: {allow}"
    return _error_response(405, "method_not_allowed", message, {"Allow": allow})


def _error_response(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorPublic(kind=kind, message=message)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
    return _respond(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NodepipeError, _nodepipe_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
