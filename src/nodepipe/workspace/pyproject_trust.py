"""The local paths a ``pyproject.toml`` names, checked like the paths of web requests (audit3 G6).

A node's ``pyproject.toml`` can name code the node builds, installs or runs from outside its
folder: ``[tool.nodepipe] code-paths``, ``command`` and ``interpreter``; ``[tool.uv.sources]``
``path`` (editable or not) and ``git`` file URLs; requirements that are paths or ``file:`` URLs
(``[project] dependencies`` and ``optional-dependencies``). The web API's routes for code paths
and packages refuse such a path when another user could change what is there
(``workspace.path_trust``); a save of a ``pyproject.toml`` through the web code editor gets the
same check here, for the paths the new text names that the file on disk did not (a path the
file held already, perhaps added on the command line, is left to its owner). Relative paths
are taken from the file's folder, as uv and nodepipe take them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.toml_limits import load_toml
from nodepipe.workspace.path_trust import check_trusted_path, local_path_of

PYPROJECT = "pyproject.toml"


def check_saved_pyproject(new_text: str, old_text: str | None, folder: Path) -> None:
    """Refuse (InvalidInputError naming the entry) a ``pyproject.toml`` text to be saved in
    ``folder`` that names an untrusted local path the old text (None: a new file) did not.
    A text that is not TOML names nothing here (the node's own checks say what is wrong)."""
    known = set(_named(old_text, folder).items()) if old_text is not None else set()
    for entry, path in _named(new_text, folder).items():
        if (entry, path) in known:
            continue
        try:
            check_trusted_path(path)
        except InvalidInputError as refused:
            raise InvalidInputError(f"{PYPROJECT} {entry}: {refused}") from refused


def _named(text: str | None, folder: Path) -> dict[str, str]:
    """Entry (as the message names it) -> the path it names, resolved from ``folder``."""
    try:
        data = load_toml(text or "")
    except tomllib.TOMLDecodeError:
        return {}
    found: dict[str, str] = {}
    tool = _table(data.get("tool"))
    nodepipe, uv = _table(tool.get("nodepipe")), _table(tool.get("uv"))
    for written in _strings(nodepipe.get("code-paths")):
        found[f"[tool.nodepipe] code-paths {written!r}"] = _resolved(folder, written)
    command = _strings(nodepipe.get("command"))
    if command and "/" in command[0]:
        found[f"[tool.nodepipe] command {command[0]!r}"] = _resolved(folder, command[0])
    interpreter = nodepipe.get("interpreter")
    if isinstance(interpreter, str) and "/" in interpreter:
        found[f"[tool.nodepipe] interpreter {interpreter!r}"] = _resolved(folder, interpreter)
    for package, source in _table(uv.get("sources")).items():
        for source_item in source if isinstance(source, list) else [source]:
            item = _table(source_item)
            for key in ("path", "git"):
                value = item.get(key)
                local = local_path_of(value) if isinstance(value, str) and key == "git" else value
                if isinstance(local, str):
                    found[f"[tool.uv.sources] {package} {key}"] = _resolved(folder, local)
    project = _table(data.get("project"))
    extras = _table(project.get("optional-dependencies")).values()
    for requirement in [*_strings(project.get("dependencies")), *_flat(extras)]:
        local = local_path_of(requirement)
        if local is not None:
            found[f"requirement {requirement!r}"] = _resolved(folder, local)
    return found


def _resolved(folder: Path, written: str) -> str:
    return str(folder / Path(written).expanduser())


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _flat(lists: Any) -> list[str]:
    return [item for value in lists for item in _strings(value)]
