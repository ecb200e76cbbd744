"""The nodepipe exception tree: one root, a few meaningful children; and the hint an error
may carry.

An error's message says what is wrong in words every surface shares. What to do about it, when
that is an action of nodepipe's own (unlock a node, create a shared environment), is a ``Hint``:
an ``Action`` and its parameters, which each surface words its own way (the CLI as a command,
``nodepipe.cli.hints``; the web app as its menu item, ``web/src/api/hints.ts``; the API hands
it over as JSON). The CLI maps these classes to exit codes in one place (``nodepipe.cli.errors``)
and the web API maps them to HTTP statuses in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    """What a hint asks the user to do; each surface words every one of them."""

    PIPELINE_UNLOCK = "pipeline.unlock"
    NODE_UNLOCK = "node.unlock"
    NODE_DETACH = "node.detach"
    NODE_KILL = "node.kill"
    NODE_RENAME = "node.rename"
    NODE_RETAG = "node.retag"
    PIPELINE_RETAG = "pipeline.retag"
    GROUP_RENAME = "group.rename"
    TAG_DUPLICATE = "tag.duplicate"
    LIBRARY_PACKAGE = "library.package"
    SHARED_ENV_NEW = "shared_env.new"
    ENV_DETACH = "env.detach"
    LIBRARY_UNLINK = "library.unlink"
    ENV_SNAPSHOT = "env.snapshot"
    ENV_LOCK = "env.lock"
    ENV_RELOCK = "env.relock"
    SNAPSHOT_RESET = "snapshot.reset"
    CODE_PATH_COPY = "code_path.copy"
    RAY_CONNECT = "ray.connect"
    WORKSPACE_INIT = "workspace.init"
    WORKSPACE_EXAMINE = "workspace.examine"
    STORE_RESTORE = "store.restore"
    STORE_REBUILD = "store.rebuild"
    STORE_REPOINT = "store.repoint"
    SERVER_PASSWORD = "server.password"
    PACKAGE_CREDENTIALS = "package.credentials"
    PACKAGE_VERSION = "package.version"
    PACKAGE_SIZE = "package.size"
    PACKAGE_NAME = "package.name"
    PACKAGE_ALIAS = "package.alias"
    BUNDLE_NAME = "bundle.name"
    INCLUDE_UPDATE = "include.update"
    LIBRARY_NAME = "library.name"
    INDEX_CREDENTIALS = "index.credentials"
    CONDA_INSTALL = "conda.install"
    CONDA_LOCK = "conda.lock"
    CONDA_CHANNEL = "conda.channel"
    CONDA_PACKAGE = "conda.package"
    PACKAGE_UPLOAD = "package.upload"
    EXTERNAL_LARGE = "external.large"
    CODE_PATH_LARGE = "code_path.large"
    ENV_PYTHON = "env.python"
    SNAPSHOT_REFRESH = "snapshot.refresh"
    BUNDLE_INPUT = "bundle.input"
    RUN_STORAGE = "run.storage"


@dataclass(frozen=True, slots=True)
class Hint:
    """What to do about an error: an action and its parameters (ids, tags, names, paths)."""

    action: Action
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


HintWords = Callable[[Hint], str]
"""A surface's words for a hint (the Python API's: ``nodepipe.services.hints.words_for``)."""
_NOTE_WORDS: list[HintWords] = []


def word_hints_with(words: HintWords) -> None:
    """Give every error's hint, from now on in this process, as an exception note in
    ``words`` (the Python API does, where Python shows notes under a traceback)."""
    _NOTE_WORDS[:] = [words]


class NodepipeError(Exception):
    """Root of every error nodepipe raises on purpose; ``hint`` says what to do, if anything
    nodepipe offers does it."""

    def __init__(self, message: str, *, hint: Hint | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    @property
    def __notes__(self) -> list[str]:
        """The exception's notes, the hint first in the words given to ``word_hints_with``
        (none given: no note). One list, kept, so ``add_note`` appends to it."""
        notes: list[str] | None = self.__dict__.get("_notes")
        if notes is None:
            hint = self.__dict__.get("hint")
            notes = [_NOTE_WORDS[0](hint)] if hint is not None and _NOTE_WORDS else []
            self.__dict__["_notes"] = notes
        return notes

    @__notes__.setter
    def __notes__(self, notes: list[str]) -> None:
        self.__dict__["_notes"] = notes


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

    def __init__(self, message: str, cycle: list[str], *, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cycle = cycle


class NameTakenError(ConflictError):
    """A new name another one of its kind already has (a pipeline's tag, a node's tag in its
    pipeline, a project's or a group's name); ``field`` says which of the thing's names it is
    (``tag``, ``name``), so a surface can say it beside the field it was typed in."""

    def __init__(self, message: str, field: str, *, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class ReadOnlyError(ConflictError):
    """The target is locked, or is a reference in the pipeline the change was made from."""


class ChangedOnDiskError(ConflictError):
    """A file (or a node's notes) was changed since the version a save was based on was read:
    saving would overwrite someone else's edit. Reading it again (or overwriting on purpose)
    resolves it. ``current_version``, when known: the version the file is at now (a save based on it
    overwrites knowingly)."""

    def __init__(
        self, message: str, *, current_version: str | None = None, hint: Hint | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.current_version = current_version


class WorkspaceError(NodepipeError):
    """No workspace here, or a bad one: its store missing, damaged or of an unknown version,
    or another user controls it. (A workspace, a file or other files already where a new
    workspace would be made is a ``ConflictError``.)"""


class EnvironmentBuildError(NodepipeError):
    """nodepipe could not build or sync a node's environment (uv failed); not the node's fault.

    ``detail`` is uv's own full output, for a log or ``--verbose``; the message says what
    happened in nodepipe's words, without uv's advice about uv's own options."""

    def __init__(self, message: str, *, hint: Hint | None = None, detail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.detail = detail


class RequirementNotFoundError(EnvironmentBuildError):
    """What was asked for does not exist: no such package or version on the index, or no such
    Python installed here. Asking for something else fixes it."""


class UnresolvableRequirementsError(EnvironmentBuildError):
    """No set of versions satisfies the requirements together (with the node's other pins)."""


class RefusedPackageError(EnvironmentBuildError):
    """A conda package (or its channel's index) that nodepipe will not install: its files or
    links lead outside its prefix, it is not the archive the lock pins, it unpacks past the
    size cap. The package's or the channel's fault, not nodepipe's: asking for it from
    another channel (or relocking, or not at all) fixes it."""


class IndexUnreachableError(EnvironmentBuildError):
    """The package index cannot be reached (network, DNS, an index that is down): retry later."""


class NodeLaunchError(NodepipeError):
    """nodepipe could not start a node's program (no such command or interpreter, not
    executable): the node did not fail, it never ran."""


class StorageError(NodepipeError):
    """nodepipe could not read or write the workspace's files or store: a full disk, a
    read-only filesystem, missing permissions, a store that cannot be written."""


def not_utf8(error: UnicodeDecodeError) -> str:
    """Why a text file nodepipe reads as UTF-8 (TOML, YAML) cannot be read, and the fix: an
    editor saved it in another encoding."""
    return (
        f"it is not UTF-8 text (byte {error.object[error.start]:#x} at position {error.start});"
        " save it as UTF-8"
    )
