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
from typing import TYPE_CHECKING

from nodepipe.domain.errors import InvalidInputError, RequirementNotFoundError

if TYPE_CHECKING:
    from nodepipe.envs.python_requests import PythonRequest


def _candidate_dirs() -> list[Path]:
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    dirs = sorted((pyenv_root / "versions").glob("*/bin"), reverse=True)
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        # A relative entry (".", "bin") names a different folder in every working directory:
        # the lookup may run what it finds there to ask its version, so it is skipped.
        if entry and Path(entry).is_absolute() and "shims" not in Path(entry).parts:
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


_DESCRIBE = (
    "import sys, sysconfig; print(sys.implementation.name, *sys.version_info[:3], "
    "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))"
)


@cache
def _describe(executable: str) -> tuple[str, tuple[int, ...], bool] | None:
    """(implementation, version, free-threaded) of ``executable``; None when it does not run
    or may not be run."""
    if untrusted(executable) is not None:
        return None
    try:
        out = subprocess.run(
            [executable, "-c", _DESCRIBE], capture_output=True, text=True, timeout=10, check=True
        ).stdout.split()
        return out[0], tuple(int(part) for part in out[1:4]), out[4] == "1"
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _full_version(executable: str) -> tuple[int, ...] | None:
    described = _describe(executable)
    return described[1] if described else None


_EXECUTABLE = re.compile(r"^(?:python|pypy|graalpy)(?:\d+(?:\.\d+)?)?t?$")


def _candidates(request: PythonRequest) -> list[str]:
    """Executables that may answer ``request``, in the order they are looked at: those named
    for its minor version when it names one (``python3.12``), else every ``python*``,
    ``pypy*`` and ``graalpy*`` of each place."""
    found: list[str] = []
    for directory in _candidate_dirs():
        if request.minor is not None:
            major, minor = request.minor
            t = "t" if request.freethreaded else ""
            names = [f"python{major}.{minor}{t}", f"pypy{major}.{minor}"]
        else:
            try:
                names = sorted(p.name for p in directory.iterdir() if _EXECUTABLE.match(p.name))
            except OSError:
                continue
        for name in names:
            candidate = directory / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                found.append(str(candidate))
    return list(dict.fromkeys(found))


def find_interpreter(text: str) -> str:
    """The path of an installed interpreter answering the request ``text`` (uv's syntax, as
    ``.python-version`` holds it: ``3.12``, ``cpython@3.12``, ``>=3.11,<3.13``, … see
    ``envs.python_requests``) or an explicit path. A request naming one minor version takes
    the first answer in the usual places; a range or a major version alone the newest."""
    from nodepipe.envs.python_requests import (  # when asked
        first_request,
        foreign_platform,
        parse_request,
    )

    request_text = first_request(text) or text.strip()
    if "/" in request_text:
        path = Path(request_text)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RequirementNotFoundError(f"no Python interpreter at {request_text}")
        return check_trusted(str(path))
    request = parse_request(request_text)
    if request is None:
        raise InvalidInputError(
            f"expected a Python version request like 3.12, 3.12.1, cpython@3.12 or "
            f">=3.11,<3.13, got {request_text!r}"
        )
    foreign = foreign_platform(request_text)
    if foreign is not None:
        raise InvalidInputError(foreign)
    answers = []
    for candidate in _candidates(request):
        described = _describe(candidate)
        if described is not None and request.matches(*described):
            if request.minor is not None:
                return candidate
            answers.append((described[1], candidate))
    if answers:
        return max(answers, key=lambda answer: answer[0])[1]
    if request.python2_only():
        raise InvalidInputError(f"{request_text!r} asks for Python 2: {PYTHON2}")
    raise RequirementNotFoundError(
        f"no Python {request_text} is installed here, and nodepipe never downloads "
        f"interpreters; install one (for example `pyenv install {_example(request)}` or your "
        "system's package) and retry"
    )


PYTHON2 = (
    "nodepipe cannot run a node with Python 2 (it starts every node with its own helper "
    "module, which is Python 3, whether or not a Python 2 is installed); ask for a Python 3 "
    "version (like 3.12)"
)
"""Why a request only a Python 2 answers is refused (the interpreter itself may be here)."""


def python3_version(executable: str) -> str:
    """The version (``3.12.1``) of the interpreter at ``executable``, one a node can run with;
    InvalidInputError when it is a Python 2 (``PYTHON2``) or does not run as Python at all."""
    described = _describe(check_trusted(executable))
    if described is not None:
        return ".".join(map(str, described[1]))
    try:
        major = subprocess.run(
            [executable, "-c", "import sys; print(sys.version_info[0])"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        major = ""
    if major == "2":
        raise InvalidInputError(f"{executable} is a Python 2: {PYTHON2}")
    raise InvalidInputError(f"{executable} does not run as Python")


def _example(request: PythonRequest) -> str:
    """A version pyenv can install for ``request`` (``3.12``, ``3.13t``, ``pypy3.10``)."""
    if request.implementation == "pypy":
        return "pypy" + (".".join(map(str, request.minor)) if request.minor else "3.10")
    if request.implementation == "graalpy":
        return "graalpy"
    version = ".".join(map(str, request.minor)) if request.minor else "3.12"
    return f"{version}t" if request.freethreaded else version


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
