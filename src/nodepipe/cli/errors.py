"""Exit codes: the one table of every status ``nodepipe`` exits with, and what each means.

Errors map to their code through ``EXIT_CODES`` (the most specific class of the error's wins);
a run that ended with a failed node, or was cancelled, exits with the codes named here too.
The README's table of exit codes is this table (a test holds them together).
"""

from __future__ import annotations

from typing import NamedTuple

from nodepipe.domain.errors import (
    ConflictError,
    EnvironmentBuildError,
    InvalidInputError,
    NodepipeError,
    NotFoundError,
    ReadOnlyError,
    RefusedPackageError,
    RequirementNotFoundError,
    StorageError,
    UnresolvableRequirementsError,
    WorkspaceError,
)


class ExitCode(NamedTuple):
    """One exit status: its code, what it means, and the errors that end a command with it."""

    code: int
    meaning: str
    errors: tuple[type[NodepipeError], ...] = ()


OK = ExitCode(0, "ok")
NODE_FAILED = ExitCode(8, "a node of the run failed (your code; see `nodepipe logs`)")
CANCELLED = ExitCode(
    130,
    "cancelled (Ctrl-C, a run stopped by a signal, or a kill of one of its nodes from "
    "`nodepipe kill` or the web app, also of a node that had not started)",
)
READER_GONE = ExitCode(
    141,
    "the output's reader went away (a `head` that stopped reading): the command stopped "
    "printing, silently (128 + SIGPIPE, as for a program a closed pipe ends); a run goes on to "
    "its end and exits with its own status",
)

EXIT_CODES: tuple[ExitCode, ...] = (
    OK,
    ExitCode(1, "any other nodepipe error", (NodepipeError,)),
    ExitCode(
        2,
        "bad input (a malformed command line too; also a package, version or Python that does "
        "not exist, requirements no versions satisfy together, or a conda package or channel "
        "index nodepipe refuses: its files lead outside its prefix, it is not the one locked, "
        "it is past a size cap)",
        (
            InvalidInputError,
            RequirementNotFoundError,
            UnresolvableRequirementsError,
            RefusedPackageError,
        ),
    ),
    ExitCode(3, "unknown or ambiguous name", (NotFoundError,)),
    ExitCode(4, "conflict (cycle, duplicate, wrong state)", (ConflictError,)),
    ExitCode(5, "read-only (locked, a reference, or in a run)", (ReadOnlyError,)),
    ExitCode(
        6,
        "no workspace, or a bad one (its store missing, damaged or another workspace's, or another "
        "user controls it)",
        (WorkspaceError,),
    ),
    ExitCode(
        7,
        "nodepipe could not build an environment (uv failed for a reason of its own, or the "
        "package index cannot be reached)",
        (EnvironmentBuildError,),
    ),
    NODE_FAILED,
    ExitCode(
        9,
        "the disk or the store failed (full, read-only, no permission, or a stored run record "
        "damaged)",
        (StorageError,),
    ),
    CANCELLED,
    READER_GONE,
)
"""Every exit status of ``nodepipe``, by code."""

_BY_ERROR: dict[type[NodepipeError], int] = {
    error: exit_code.code for exit_code in EXIT_CODES for error in exit_code.errors
}


def exit_code_for(error: NodepipeError) -> int:
    """The code of the most specific class of ``error`` that the table names."""
    for cls in type(error).__mro__:
        if cls in _BY_ERROR:
            return _BY_ERROR[cls]
    return 1
