"""Checking a ``requirements.txt`` before uv reads it (pure: no files, no solving).

``env import NODE requirements.txt`` hands the file to ``uv add -r``; uv's own parse errors
name its parser's expectations ("Unexpected '-', expected '-c', '-e', '-r' ...") and end the
command as if uv had failed. So nodepipe reads the file first, in its own words, and refuses
it as bad input naming the line when it is not one:

- each logical line (``\\``-continued, comments dropped) is a requirement (as
  ``domain.requirements`` accepts them; ``--hash=`` after it allowed), a local path (``./pkg``,
  ``/abs/pkg``, ``file:…``) or one of the options uv reads from such a file (``-r``, ``-c``,
  ``-e``, ``--index-url``...);
- a text that looks like YAML (an ``environment.yml`` under another name) is said to be one;
- ``-r``/``-c`` name other files, returned so the caller checks them too;
- ``-e`` names an editable project (a folder, or a VCS URL): a package to add, returned with
  its line so the caller checks that the folder is one.

Where the file came over the web (``local_files=False``) nothing in it may name the server's
files: includes, editables, local paths, ``file:`` URLs and ``--find-links`` are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements import validate_requirement

INCLUDES = frozenset({"-r", "--requirement", "-c", "--constraint"})
"""Options naming another requirements (or constraints) file."""
_LOCAL = frozenset({"-e", "--editable", "-f", "--find-links"}) | INCLUDES
"""Options naming a folder or file of the machine that reads the file."""
_EDITABLE = frozenset({"-e", "--editable"})
_WITH_VALUE = _LOCAL | {"-i", "--index-url", "--extra-index-url", "--no-binary"}
_WITH_VALUE |= {"--only-binary", "--trusted-host", "--use-feature", "--config-settings"}
_FLAGS = frozenset({"--no-index", "--pre", "--prefer-binary", "--require-hashes"})
OPTIONS = _WITH_VALUE | _FLAGS
"""Every option nodepipe lets through to uv (uv reads these from a requirements file)."""
_YAML_LINE = re.compile(r"[A-Za-z_][\w.-]*:(\s|$)|- ")
"""A line of YAML: ``key: value``, ``key:`` or a list item."""
_LOCAL_PATH = ("./", "../", "/", "~", "file:")


@dataclass(frozen=True, slots=True)
class RequirementsFile:
    """What a checked requirements file asks for."""

    requirements: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    """The files ``-r``/``-c`` name, as written (relative to the file's folder)."""
    editables: list[Editable] = field(default_factory=list)
    """The projects ``-e`` names, as written (a path relative to the file's folder)."""


@dataclass(frozen=True, slots=True)
class Editable:
    """An ``-e`` line of a requirements file: ``where`` it is (``file, line N``), ``value``."""

    where: str
    value: str


def read_requirements_file(text: str, source: str, local_files: bool = True) -> RequirementsFile:
    """Check every line of ``text`` (the file ``source``); InvalidInputError naming the line
    of the first that is neither a requirement nor an option uv reads."""
    result = RequirementsFile()
    for number, line in _logical_lines(text):
        where = f"{source}, line {number}"
        try:
            if line.startswith("-"):
                _check_option(line, where, local_files, result)
            else:
                _check_requirement(line, local_files, result)
        except InvalidInputError as exc:
            if _YAML_LINE.match(line):
                raise InvalidInputError(
                    f"{where}: {line[:60]!r} is YAML, not a requirement: an environment file "
                    "is read as one when its name ends in .yml or .yaml"
                ) from None
            raise InvalidInputError(f"{where}: {exc}") from None
    return result


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each line joined with its ``\\`` continuations, comments
    and blank lines dropped."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            lines.append((start, joined))
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _check_option(line: str, where: str, local_files: bool, result: RequirementsFile) -> None:
    name, _, value = (
        line.replace("=", " ", 1).partition(" ")
        if line.startswith("--")
        else (
            line[:2],
            "",
            line[2:],
        )
    )
    value = value.strip()
    if name not in OPTIONS:
        raise InvalidInputError(
            f"{name!r} is neither a requirement nor an option a requirements file may hold "
            f"({', '.join(sorted(OPTIONS))})"
        )
    if name in _WITH_VALUE and not value:
        raise InvalidInputError(f"{name} needs a value")
    if name in _LOCAL and not local_files:
        raise InvalidInputError(
            f"{name} names a file or folder of the server; a file sent over the web may not"
        )
    if name in INCLUDES:
        result.includes.append(value)
    elif name in _EDITABLE:
        result.editables.append(Editable(where, value))


def _check_requirement(line: str, local_files: bool, result: RequirementsFile) -> None:
    requirement = re.split(r"\s--hash[=\s]", line, maxsplit=1)[0].strip()
    if requirement.startswith(_LOCAL_PATH) or re.match(r"[\w.-]+\s*@\s*file:", requirement):
        if not local_files:
            raise InvalidInputError(
                f"{requirement!r} names a path of the server; a file sent over the web may not"
            )
        result.requirements.append(requirement)
        return
    result.requirements.append(validate_requirement(requirement))
