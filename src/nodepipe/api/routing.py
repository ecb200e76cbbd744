"""How every REST router is made: the error statuses its routes document, and what they mean.

One call per resource module, so no route copies a ``responses`` dict: ``resource_router``
declares what every route may answer (``ALWAYS``) plus what this resource's routes may
(404 for routes that name things, 409 for those that change them); a route that can answer
more adds ``responses=error_responses(...)`` itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nodepipe.api.json_text import TextRoute
from nodepipe.schemas.errors import ErrorPublic

DESCRIPTIONS: dict[int, str] = {
    400: "Refused for a reason of no more specific kind (the message says which)",
    401: "The server's token is missing or wrong",
    403: "A host name or an origin this server does not serve",
    404: "An unknown or ambiguous name",
    409: "The workspace's state stands in the way: a cycle, a duplicate, a lock, a reference",
    413: "The request body is larger than the server accepts",
    416: "The byte range asked for lies past the end of the file",
    422: "The request cannot be done as asked: malformed input, a package, version or "
    "Python that does not exist, requirements no versions satisfy together, or a conda package "
    "nodepipe refuses to install (kind refused_package)",
    502: "uv failed to build or sync the environment for a reason of its own",
    503: "The package index cannot be reached, or the workspace's disk or store failed (full, "
    "read-only, no permission, unusable)",
}
ALWAYS = (400, 401, 403, 413, 422, 503)
"""What any API route may answer whatever it does: the access guard, the body limit, request
validation, a failing disk or store."""

_ERROR_SCHEMA = f"#/components/schemas/{ErrorPublic.__name__}"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a router or route: the statuses of ``ALWAYS`` and ``statuses``,
    each with the error body, so the OpenAPI document (and the web client) know them.

    The body is JSON also on routes that stream (whose own media type is an event stream).
    """
    return {
        status: {
            "model": ErrorPublic,
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": _ERROR_SCHEMA}}},
        }
        for status in sorted({*ALWAYS, *statuses})
    }


def resource_router(
    prefix: str = "", *, tags: list[str], errors: tuple[int, ...] = ()
) -> APIRouter:
    """A router whose routes document ``errors`` (and the statuses any route may answer)."""
    return APIRouter(
        prefix=prefix,
        tags=list(tags),
        responses=error_responses(*errors),
        route_class=TextRoute,  # JSON bodies hold only text that can be stored
    )
