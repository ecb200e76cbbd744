"""Reading the files ``env import`` takes (a requirements.txt, an environment.yml) before
anything changes: in nodepipe's words, within limits, all of it checked first.

A file larger than ``MAX_IMPORT_BYTES``, one that is not UTF-8 text (a binary, a NUL byte),
a missing one, or a requirements file with a line uv would not read (``domain.requirements_file``)
is bad input (InvalidInputError, exit 2, HTTP 422); the node is not touched. The files a
requirements file includes (``-r``, ``-c``) are checked the same way, relative to the file that
names them, ``MAX_INCLUDE_DEPTH`` deep at most.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements_file import read_requirements_file

MAX_IMPORT_BYTES = 1024 * 1024
"""An environment file or requirements file larger than this is refused (a long one is a few
kilobytes)."""
MAX_INCLUDE_DEPTH = 8
"""How deep ``-r``/``-c`` includes may nest."""


def read_imported(file: Path, what: str) -> str:
    """The text of ``file``, ``what`` it should be ("a requirements file")."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {file} (expected {what})") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{file} is a folder, not {what}") from None
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
    """The requirements ``file`` and the files it includes ask for, every line checked."""
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
    for include in found.includes:
        target = resolved.parent / include
        if not target.exists():
            raise InvalidInputError(f"{file} includes {include!r}: no such file: {target}")
        requirements += _checked(target, local_files, [*chain, resolved])
    return requirements
