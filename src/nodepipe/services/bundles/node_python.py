"""The Python a node of a bundle or package asks for: a version, never a program of a machine.

A node says which Python it runs with in ``code/.python-version`` (a request uv and nodepipe
resolve to an installed interpreter) or, not isolated, ``[tool.nodepipe] interpreter`` (the
absolute path of one). A path in either names a program of the machine the bundle was written
on, and of every machine that imports it: locking the node runs it, as the importing user (a
web upload, as the server's). So an import (``bundle check``/``import``, ``pipeline include``,
``package pull``, ``POST /api/bundles``) refuses a node whose ``.python-version`` is not a
version request (``envs.python_requests.request_problem``) or that sets ``interpreter``, before
anything is copied or run, and a node asking for a Python no interpreter here answers (found
as the import finds it, ``envs.interpreters.find_interpreter``); and ``bundle export`` /
``package build`` refuse to write such a node, naming the fix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import Action, Hint, InvalidInputError, RequirementNotFoundError
from nodepipe.domain.toml_limits import load_toml
from nodepipe.envs.interpreters import find_interpreter
from nodepipe.envs.node_env import PYTHON_VERSION_FILE
from nodepipe.envs.python_requests import request_problem

if TYPE_CHECKING:
    from nodepipe.services.bundles.exporting import ExportPlan

INTERPRETER_KEY = "interpreter"


def bundle_python_problems(
    name: str, pyproject: str, pyproject_text: str | None, request: str, request_text: str | None
) -> list[str]:
    """Why node ``name`` of a bundle may not be imported for the Python it asks for: the
    ``.python-version`` at ``request`` (text ``request_text``) is not a version request, or
    no interpreter here answers it; its ``pyproject.toml`` at ``pyproject`` sets an
    interpreter. [] when none of these."""
    problems = []
    if request_text is not None and (problem := request_problem(request_text)):
        problems.append(
            f"{name}: {request}: {problem}; a bundle may ask only for a Python version, "
            "never name a program of this machine"
        )
    elif request_text is not None:
        try:
            find_interpreter(request_text)
        except (RequirementNotFoundError, InvalidInputError) as exc:
            problems.append(f"{name}: {request}: {exc}")
    if pyproject_text is not None and _interpreter(pyproject_text) is not None:
        problems.append(
            f"{name}: {pyproject} [tool.nodepipe] {INTERPRETER_KEY} names a program of this "
            "machine to run the node with; a bundle's node has an environment of its own"
        )
    return problems


def check_python(plan: ExportPlan) -> None:
    """Refuse, before anything is written, to export a node that runs with an existing
    interpreter (``env interpreter``) or whose ``.python-version`` names a path: the bundle
    would carry a path of this machine, and every import refuses it."""
    ids = {key: node_id for node_id, key in plan.keys.items()}  # hints name a node by id
    for key, folder in sorted(plan.folders.items()):
        pyproject = folder.code / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else None
        interpreter = _interpreter(text) if text is not None else None
        if interpreter is not None:
            raise InvalidInputError(
                f"node {key!r} runs with the interpreter {interpreter} of this machine "
                f"(pyproject.toml [tool.nodepipe] {INTERPRETER_KEY}); a bundle or package "
                "cannot carry a program of this machine, so its nodes need environments of "
                "their own",
                hint=Hint(Action.ENV_DETACH, {"node": ids.get(key, key), "tag": key}),
            )
        request = _read(folder.code / PYTHON_VERSION_FILE)
        problem = request_problem(request) if request is not None else None
        if problem:
            raise InvalidInputError(
                f"node {key!r} asks for its Python by path (code/{PYTHON_VERSION_FILE}: "
                f"{problem}); a bundle or package may ask only for a version",
                hint=Hint(Action.ENV_PYTHON, {"node": ids.get(key, key), "tag": key}),
            )


def _interpreter(pyproject_text: str) -> str | None:
    """The ``[tool.nodepipe] interpreter`` a pyproject.toml text sets (as text), else None."""
    try:
        data = load_toml(pyproject_text)
    except tomllib.TOMLDecodeError:
        return None  # the import reads it again and names the mistake
    section = data.get("tool", {}).get("nodepipe", {})
    value = section.get(INTERPRETER_KEY) if isinstance(section, dict) else None
    return None if value is None else str(value)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
