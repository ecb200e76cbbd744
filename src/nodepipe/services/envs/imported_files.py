"""Reading the files ``env import`` takes (a requirements.txt, an environment.yml) before
anything changes: in nodepipe's words, within limits, all of it checked first.

A file larger than ``MAX_IMPORT_BYTES``, one that is not UTF-8 text (a binary, a NUL byte),
a missing one, or a requirements file with a line uv would not read (``domain.requirements_file``)
is bad input (InvalidInputError, exit 2, HTTP 422); the node is not touched. The files a
requirements file includes (``-r``, ``-c``) are checked the same way, relative to the file that
names them, ``MAX_INCLUDE_DEPTH`` deep at most.

A file sent over the web (``env import`` in the web app) is checked at once from its text
(``check_sent``: a plain file name; a requirements file naming no file or folder of the server;
an environment file whose channels are names or URLs), then written, while the import runs,
into a private scratch folder of the workspace journal (``sent_file``: 0700, the file 0600;
a process that dies leaves a folder the next command removes).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nodepipe.domain.environment_file import read_environment_file
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements_file import Editable, read_requirements_file
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.conda_project import spec_locations
from nodepipe.workspace.path_trust import local_path_of
from nodepipe.workspace.regular_files import NotRegularFileError, read_regular_bytes

MAX_IMPORT_BYTES = 1024 * 1024
"""An environment file or requirements file larger than this is refused (a long one is a few
kilobytes)."""
_PROJECT_FILES = ("pyproject.toml", "setup.py")
"""One of these makes a folder a Python project uv can install."""
MAX_INCLUDE_DEPTH = 8
"""How deep ``-r``/``-c`` includes may nest."""
ENVIRONMENT_SUFFIXES = (".yml", ".yaml")
"""An imported file whose name ends so is an environment file; any other a requirements
file."""
SENT_REFUSED = "not a file nodepipe can import"
"""How the refusal of a file sent over the web starts."""
_SENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._ -]{0,120}")


def is_environment_file(name: str) -> bool:
    """Whether a file of this name is read as an ``environment.yml`` (else a requirements
    file)."""
    return name.lower().endswith(ENVIRONMENT_SUFFIXES)


def check_sent(file_name: str, text: str) -> None:
    """Refuse, at once, a file sent over the web that could not be imported: a name that is
    not a plain file name, more than ``MAX_IMPORT_BYTES``, a malformed file, a requirements
    file naming the server's files, an environment file naming a channel by a local path.
    Each refusal starts with ``SENT_REFUSED``."""
    try:
        _check_sent(file_name, text)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{SENT_REFUSED}: {exc}") from None


def _check_sent(file_name: str, text: str) -> None:
    if not _SENT_NAME.fullmatch(file_name):
        raise InvalidInputError(f"{file_name[:60]!r} is not a plain file name")
    if len(text.encode("utf-8", errors="replace")) > MAX_IMPORT_BYTES:
        raise InvalidInputError(
            f"{file_name} is larger than {MAX_IMPORT_BYTES:,} bytes: too large to import"
        )
    if "\x00" in text:
        raise InvalidInputError(f"{file_name} holds NUL bytes (a binary file?)")
    if not is_environment_file(file_name):
        if not read_requirements_file(text, file_name, local_files=False).requirements:
            raise InvalidInputError(f"{file_name} names no package to add")
        return
    placed = read_environment_file(text, file_name)
    for channel in placed.channels:
        local = "/" in channel or channel.startswith((".", "~"))
        if channel.startswith("file:") or ("://" not in channel and local):
            raise InvalidInputError(
                f"{file_name}: channel {channel!r} is a path of the server; a file sent over "
                "the web names channels by name or URL"
            )
    for spec in placed.conda:
        if any(local_path_of(place) is not None for place in spec_locations(spec)):
            raise InvalidInputError(
                f"{file_name}: {spec!r} names a path of the server; a file sent over the web "
                "names conda packages from channels, by name or URL"
            )


@contextmanager
def sent_file(context: WorkspaceContext, file_name: str, text: str) -> Iterator[Path]:
    """``text`` written as ``file_name`` into a private scratch folder for the block."""
    from nodepipe.services.bundles.archives import ARCHIVE_KIND  # the bundle machinery: only here

    with journal.operation(context.layout.staging_dir, ARCHIVE_KIND) as operation:
        operation.folder.chmod(0o700)
        file = operation.folder / file_name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(file, flags, 0o600), "w", encoding="utf-8") as writer:
            writer.write(text)
        yield file


def read_imported(file: Path, what: str) -> str:
    """The text of ``file``, ``what`` it should be ("a requirements file")."""
    try:  # a named pipe is not waited on, nor a device read for ever
        data = read_regular_bytes(file, limit=MAX_IMPORT_BYTES + 1)
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {file} (expected {what})") from None
    except NotRegularFileError as exc:
        if exc.is_folder:
            raise InvalidInputError(f"{file} is a folder, not {what}") from None
        raise InvalidInputError(f"{file} is not {what}: {exc}; nothing was changed") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror or exc}") from None
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInputError(
            f"{file} is larger than {MAX_IMPORT_BYTES:,} bytes: too large for {what}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{file} is not {what}: not UTF-8 text (byte {exc.start})"
        ) from None
    if "\x00" in text:
        raise InvalidInputError(f"{file} is not {what}: it holds NUL bytes (a binary file?)")
    return text


def check_requirements_file(file: Path, local_files: bool = True) -> list[str]:
    """The requirements ``file`` and the files it includes ask for, every line checked; an
    editable project (``-e ../lib``) is one of them when its folder, taken from the folder of
    the file naming it, holds a Python project (else InvalidInputError naming the line)."""
    return _checked(file, local_files, [])


def _checked(file: Path, local_files: bool, chain: list[Path]) -> list[str]:
    resolved = file.resolve()
    if resolved in chain:
        raise InvalidInputError(f"{file} includes itself (through -r or -c)")
    if len(chain) > MAX_INCLUDE_DEPTH:
        raise InvalidInputError(f"{file}: includes nest deeper than {MAX_INCLUDE_DEPTH} files")
    text = read_imported(file, "a requirements file")
    found = read_requirements_file(text, str(file), local_files)
    requirements = list(found.requirements)
    for editable in found.editables:
        requirements.append(_editable_project(editable, resolved.parent))
    for include in found.includes:
        target = resolved.parent / include
        if not target.exists():
            raise InvalidInputError(f"{file} includes {include!r}: no such file: {target}")
        requirements += _checked(target, local_files, [*chain, resolved])
    return requirements


def _editable_project(editable: Editable, folder: Path) -> str:
    """The project an ``-e`` line names; its folder (relative to ``folder``) must hold one."""
    value = editable.value
    if "://" in value and not value.startswith("file:"):
        return value  # a VCS URL (git+https://…): uv fetches and checks it
    local = re.sub(r"\[[^\]]*\]$", "", local_path_of(value) or value)  # extras: path[x]
    project = folder / Path(local).expanduser()
    if not project.is_dir():
        raise InvalidInputError(f"{editable.where}: -e {value}: no folder at {project}")
    if not any((project / name).is_file() for name in _PROJECT_FILES):
        raise InvalidInputError(
            f"{editable.where}: -e {value}: {project} is no Python project "
            f"(it holds no {' or '.join(_PROJECT_FILES)})"
        )
    return value
