"""Finding installed Python interpreters without downloading any (and without pyenv shims).

uv's own discovery stops at the first ``pythonX.Y`` on PATH, which on pyenv machines is a shim
that fails for every version but the global one; so nodepipe looks in the usual places itself:
pyenv's versions, PATH (shims skipped), /usr/local/bin and /usr/bin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError, RequirementNotFoundError

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
# What uv takes as a Python request that names no file: a version or range (3, 3.12, 3.12.1,
# >=3.11,<3.13, 3.13t), optionally behind an implementation (cpython@3.12, cpython3.12,
# cpython-3.12, pypy@3.10, cp312), or a download key (cpython-3.12.1-linux-x86_64-gnu).
_IMPLEMENTATION = r"(?:cpython|pypy|graalpy|python|cp|pp|gp)"
_NUMBERS = r"\d+(?:\.\d+){0,2}(?:(?:a|b|rc)\d+)?[t+]?"
_RANGE = rf"(?:[<>=!~]=?|===?)?\s*{_NUMBERS}(?:\.\*)?"
_REQUEST = re.compile(
    rf"^(?:{_IMPLEMENTATION}(?:[@-]|(?=\d)))?(?:{_RANGE}(?:\s*,\s*{_RANGE})*)"
    r"(?:-[a-z0-9_]+){0,3}$|^(?:cpython|pypy|graalpy|any|default)$",
    re.IGNORECASE,
)


def request_problem(text: str) -> str | None:
    """Why the ``.python-version`` text ``text`` cannot travel in a bundle or package (None
    when it can): only a version request (``3.12``, ``cpython@3.12``) means "an interpreter of
    that version" wherever it is imported; a path, a ``~`` or an executable name found on
    PATH names a program of the machine it was written on, and locking would run it."""
    for line in text.splitlines():
        request = line.strip()
        if not request or request.startswith("#"):
            continue
        if not _REQUEST.match(request):
            return f"{request[:200]!r} is not a Python version request (like 3.12)"
    return None


def _candidate_dirs() -> list[Path]:
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    dirs = sorted((pyenv_root / "versions").glob("*/bin"), reverse=True)
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and "shims" not in Path(entry).parts:
            dirs.append(Path(entry))
    dirs += [Path("/usr/local/bin"), Path("/usr/bin")]
    return list(dict.fromkeys(dirs))


NOT_TRUSTED = "interpreter not trusted"


def untrusted(executable: str) -> str | None:
    """Why ``executable`` may not be run (``workspace.path_trust``: another user's file, a
    file or folder above it others can write), None when it may or when nothing is there."""
    if not os.path.lexists(executable):
        return None
    from nodepipe.workspace.path_trust import check_trusted_path  # pwd, grp: not every run

    try:
        check_trusted_path(executable)
    except InvalidInputError as exc:
        return f"{NOT_TRUSTED}: {exc}"
    return None


def check_trusted(executable: str) -> str:
    """``executable``, or InvalidInputError "interpreter not trusted: …" (never run)."""
    reason = untrusted(executable)
    if reason is not None:
        raise InvalidInputError(reason)
    return executable


@cache
def _full_version(executable: str) -> tuple[int, ...] | None:
    if untrusted(executable) is not None:
        return None
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return tuple(int(part) for part in out.split())


def find_interpreter(request: str) -> str:
    """The path of an installed interpreter matching ``3.12``, ``3.12.1`` or an explicit path."""
    if "/" in request:
        path = Path(request)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RequirementNotFoundError(f"no Python interpreter at {request}")
        return check_trusted(str(path))
    match = _VERSION.match(request.strip())
    if not match:
        raise InvalidInputError(f"expected a Python version like 3.12 or 3.12.1, got {request!r}")
    major, minor, patch = (int(g) if g else None for g in match.groups())
    for directory in _candidate_dirs():
        candidate = directory / f"python{major}.{minor}"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        version = _full_version(str(candidate))
        if version and version[:2] == (major, minor) and (patch is None or version[2] == patch):
            return str(candidate)
    raise RequirementNotFoundError(
        f"no Python {request} is installed here, and nodepipe never downloads interpreters; "
        f"install one (for example `pyenv install {request}` or your system's package) and retry"
    )


def interpreter_version(executable: str) -> str:
    """``3.12.1``; "unknown" when it does not run; "interpreter not trusted: …" (not run)."""
    reason = untrusted(executable)
    if reason is not None:
        return reason
    version = _full_version(executable)
    return ".".join(map(str, version)) if version else "unknown"


_DISTRIBUTIONS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted({d.metadata['Name'] or '' for d in m.distributions()})))"
)


def installed_packages(executable: str) -> frozenset[str] | None:
    """The names (normalised) of the distributions ``executable`` can import; None when it
    does not run."""
    from packaging.utils import canonicalize_name

    if untrusted(executable) is not None:
        return None
    try:
        out = subprocess.run(
            [executable, "-I", "-c", _DISTRIBUTIONS],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        names = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(names, list):
        return None
    return frozenset(canonicalize_name(name) for name in names if isinstance(name, str) and name)
