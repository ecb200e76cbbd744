"""The nodepipe exception tree: one root, a few meaningful children.

Each error carries a message that names the fix. The CLI maps these classes to exit codes in one
place (``nodepipe.cli.errors``) and the web API maps them to HTTP statuses in one place.
"""

from __future__ import annotations


class NodepipeError(Exception):
    """Root of every error nodepipe raises on purpose."""


class InvalidInputError(NodepipeError):
    """The user gave something malformed: a bad name, malformed YAML, an out-of-range value."""


class NotFoundError(NodepipeError):
    """An id or name matches nothing; the message suggests the closest candidate."""


class AmbiguousNameError(NotFoundError):
    """A name matches several things; the message lists the candidates with their ids."""


class ConflictError(NodepipeError):
    """The request is well formed but contradicts the current state (duplicates, cycles...)."""


class CycleError(ConflictError):
    """Connecting would create a cycle; ``cycle`` names it, first node repeated at the end."""

    def __init__(self, message: str, cycle: list[str]) -> None:
        super().__init__(message)
        self.cycle = cycle


class ReadOnlyError(ConflictError):
    """The target is locked, or is a reference in the pipeline the change was made from."""


class WorkspaceError(NodepipeError):
    """No workspace here, a workspace already there, or a store of an unknown version."""


class EnvironmentBuildError(NodepipeError):
    """nodepipe could not build or sync a node's environment (uv failed); not the node's fault."""


class RequirementNotFoundError(EnvironmentBuildError):
    """What was asked for does not exist: no such package or version on the index, or no such
    Python installed here. Asking for something else fixes it."""


class UnresolvableRequirementsError(EnvironmentBuildError):
    """No set of versions satisfies the requirements together (with the node's other pins)."""


class IndexUnreachableError(EnvironmentBuildError):
    """The package index cannot be reached (network, DNS, an index that is down): retry later."""


class StorageError(NodepipeError):
    """nodepipe could not read or write the workspace's files or store: a full disk, a
    read-only filesystem, missing permissions, a store that cannot be written."""
