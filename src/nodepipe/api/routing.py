"""How every REST router is made: the error statuses its routes document.

One call per resource module, so no route copies a ``responses`` dict: ``resource_router``
declares what every route may answer (``errors.ALWAYS``) plus what this resource's routes may
(404 for routes that name things, 409 for those that change them); a route that can answer
more adds ``responses=error_responses(...)`` itself.
"""

from __future__ import annotations

from fastapi import APIRouter

from nodepipe.api.errors import error_responses


def resource_router(
    prefix: str = "", *, tags: list[str], errors: tuple[int, ...] = ()
) -> APIRouter:
    """A router whose routes document ``errors`` (and the statuses any route may answer)."""
    return APIRouter(prefix=prefix, tags=list(tags), responses=error_responses(*errors))
