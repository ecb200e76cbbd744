"""Exit codes: the one mapping from nodepipe errors to process exit statuses."""

from __future__ import annotations

from nodepipe.domain.errors import (
    ConflictError,
    EnvironmentBuildError,
    InvalidInputError,
    NodepipeError,
    NotFoundError,
    ReadOnlyError,
    RequirementNotFoundError,
    StorageError,
    UnresolvableRequirementsError,
    WorkspaceError,
)

EXIT_CODES: tuple[tuple[type[NodepipeError], int], ...] = (
    (InvalidInputError, 2),
    (RequirementNotFoundError, 2),
    (UnresolvableRequirementsError, 2),
    (NotFoundError, 3),
    (ReadOnlyError, 5),
    (ConflictError, 4),
    (WorkspaceError, 6),
    (EnvironmentBuildError, 7),
    (StorageError, 9),
    (NodepipeError, 1),
)
"""Most specific first. 2 bad input (also: a package, version or Python that does not exist,
requirements no versions satisfy together), 3 unknown/ambiguous name, 4 conflict (cycle,
duplicate), 5 read-only (locked or reference), 6 no/bad workspace, 7 nodepipe could not build an
environment (uv failed, or the package index cannot be reached), 9 the disk or the store failed
(full, read-only, no permission).
"""


def exit_code_for(error: NodepipeError) -> int:
    for error_type, code in EXIT_CODES:
        if isinstance(error, error_type):
            return code
    return 1
