"""An error as JSON: the body every API error answers with, and what ``--json`` prints when a
command fails, so that a script reads one ``kind`` and one ``hint`` from either.

``STATUSES`` is the one mapping from nodepipe's errors to their ``kind`` (and, for the API,
their HTTP status); :func:`describe` reads an error into its body.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from nodepipe.domain.errors import (
    AmbiguousNameError,
    ChangedOnDiskError,
    ConflictError,
    CycleError,
    EnvironmentBuildError,
    IndexUnreachableError,
    InvalidInputError,
    NameTakenError,
    NodepipeError,
    NotFoundError,
    ReadOnlyError,
    RefusedPackageError,
    RequirementNotFoundError,
    StorageError,
    UnresolvableRequirementsError,
    WorkspaceError,
)
from nodepipe.schemas.base import Schema
from nodepipe.schemas.hints import HintPublic
from nodepipe.services.bundles.updating import EditedNodesError, RemovalsNotConfirmedError


class ErrorPublic(Schema):
    """What every error answers with: a ``kind`` to branch on, a message for people, and the
    ``hint`` of what to do when an action of nodepipe's does it."""

    kind: str = Field(description="not_found, ambiguous, conflict, cycle, read_only, ...")
    message: str
    cycle: list[str] | None = Field(
        default=None, description="For a cycle: the node ids around it, the first repeated last."
    )
    details: list[dict[str, Any]] | None = None
    hint: HintPublic | None = Field(default=None, description="What to do about it, if known.")
    uv_output: str | None = Field(
        default=None,
        description="When uv failed: its full output, hints included, for whoever asks for the "
        "details (the message already says what is wrong in nodepipe's words).",
    )
    nodes: list[str] | None = Field(
        default=None,
        description="For an include update refused until removals are confirmed: the tags of "
        "the nodes it would remove; refused because nodes were edited here (kind ``edited``): "
        "those nodes.",
    )
    current_version: str | None = Field(
        default=None,
        description="For ``changed_on_disk``, when known: the version the file is at now (a "
        "save naming it as its version overwrites knowingly; a further change is refused "
        "again).",
    )


STATUSES: tuple[tuple[type[NodepipeError], int, str], ...] = (
    (CycleError, 409, "cycle"),
    (ReadOnlyError, 409, "read_only"),
    (ChangedOnDiskError, 409, "changed_on_disk"),
    (EditedNodesError, 409, "edited"),
    (ConflictError, 409, "conflict"),
    (AmbiguousNameError, 404, "ambiguous"),
    (NotFoundError, 404, "not_found"),
    (InvalidInputError, 422, "invalid_input"),
    (RequirementNotFoundError, 422, "requirement_not_found"),
    (UnresolvableRequirementsError, 422, "unresolvable"),
    (RefusedPackageError, 422, "refused_package"),
    (IndexUnreachableError, 503, "index_unreachable"),
    (EnvironmentBuildError, 502, "environment"),
    (WorkspaceError, 503, "workspace"),
    (StorageError, 503, "storage"),
    (NodepipeError, 400, "error"),
)
"""Most specific first: (error class, HTTP status, ``kind`` in the JSON body)."""


def describe(error: BaseException) -> tuple[int, ErrorPublic]:
    """The HTTP status and body for ``error``; anything not a NodepipeError is a 500."""
    if isinstance(error, NodepipeError):
        for error_type, status, kind in STATUSES:
            if isinstance(error, error_type):
                return status, _body(error, kind)
    name = type(error).__name__
    return 500, ErrorPublic(kind="internal", message=f"nodepipe failed unexpectedly: {name}")


def _body(error: NodepipeError, kind: str) -> ErrorPublic:
    cycle = error.cycle if isinstance(error, CycleError) else None
    hint = None if error.hint is None else HintPublic.model_validate(error.hint)
    nodes = (
        list(error.nodes)
        if isinstance(error, RemovalsNotConfirmedError | EditedNodesError)
        else None
    )
    uv_output = error.detail if isinstance(error, EnvironmentBuildError) else ""
    # a name taken is about one field of the request, as a validation error is
    details = (
        [{"loc": ["body", error.field], "msg": str(error)}]
        if isinstance(error, NameTakenError)
        else None
    )
    return ErrorPublic(
        kind=kind,
        message=str(error),
        cycle=cycle,
        details=details,
        hint=hint,
        nodes=nodes,
        uv_output=uv_output or None,
        current_version=error.current_version if isinstance(error, ChangedOnDiskError) else None,
    )
