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


def _candidate_dirs() -> list[Path]:
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    dirs = sorted((pyenv_root / "versions").glob("*/bin"), reverse=True)
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and "shims" not in Path(entry).parts:
            dirs.append(Path(entry))
    dirs += [Path("/usr/local/bin"), Path("/usr/bin")]
    return list(dict.fromkeys(dirs))


@cache
def _full_version(executable: str) -> tuple[int, ...] | None:
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
        return str(path)
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
