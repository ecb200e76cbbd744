"""External code a node runs, as its ``code/pyproject.toml`` declares it (DESIGN.md §4.2).

```toml
[tool.uv.sources]
mytool = { path = "/home/me/src/mytool", editable = true }  # env add --shared: a shared checkout
parser = { path = "/home/me/src/parser" }                   # env add --path: a local package
features = { path = "../../k3d9x2pq/code/features", editable = true }  # env add --from-node
[tool.nodepipe]
code-paths = ["../../shared/scripts"]     # folders put on PYTHONPATH (env code-path add)
library-nodes = { features = "k3d9x2pq" } # package -> the library node holding it
```

Each is hashed into the node's fingerprint as ``<name>::<file>`` (``workspace.fingerprint``),
so the reason names it: "shared code changed: mytool (src/mytool/io.py)". Path sources inside
``code/`` (snapshots) are the node's own code already. Relative paths are relative to ``code/``.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.ids import looks_like_id
from nodepipe.domain.staleness import SHARED_CODE_SEPARATOR, SNAPSHOTS_DIR
from nodepipe.workspace.direct_references import folder_references, names_archive
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_pyproject

SHARED = "shared checkout"
LOCAL_PATH = "local path"
LIBRARY = "library node"
CODE_PATH = "code path"
CODE_PATHS_KEY = "code-paths"
LIBRARY_KEY = "library-nodes"
_DRIVE = re.compile(r"^[A-Za-z]:")


class ExternalCode:
    """One folder of code outside ``code/`` that the node runs.

    A plain class: nothing compares it, and a dataclass costs every command's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("kind", "name", "path")

    def __init__(self, name: str, kind: str, path: Path) -> None:
        self.name: Final = name
        """What reasons call it: the package's name, or the code path as written."""
        self.kind: Final = kind
        self.path: Final = path
        """The folder, resolved."""


def external_code(code: Path) -> tuple[ExternalCode, ...]:
    """The external code node ``code`` declares, sorted by name."""
    data = read_pyproject(code / "pyproject.toml", shared=True)
    section = _nodepipe_section(data)
    libraries = _libraries(section)
    found: list[ExternalCode] = []
    for package, source in path_sources(data).items():
        if names_archive(str(source["path"])):
            continue  # a local wheel or sdist: uv.lock pins its hash
        where = _resolve(code, str(source["path"]))
        if where.is_relative_to(code.resolve()):
            continue  # a snapshot: the node's own code
        kind = SHARED if source.get("editable") else LOCAL_PATH
        found.append(ExternalCode(package, LIBRARY if package in libraries else kind, where))
    for package, written in _folder_references(data).items():
        where = _resolve(code, written)
        if not where.is_relative_to(code.resolve()):
            found.append(ExternalCode(package, LOCAL_PATH, where))
    for written in _code_paths(section):
        found.append(ExternalCode(written, CODE_PATH, _resolve(code, written)))
    return tuple(sorted(found, key=lambda item: item.name))


def path_sources(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``[tool.uv.sources]`` entries that install a local folder, by package."""
    sources = data.get("tool", {}).get("uv", {}).get("sources", {})
    if not isinstance(sources, dict):
        return {}
    return {
        str(name): source
        for name, source in sources.items()
        if isinstance(source, dict) and isinstance(source.get("path"), str)
    }


def local_projects(code: Path) -> dict[str, tuple[Path, bool]]:
    """Package -> (its folder, installed editable) for every project the node installs from a
    folder: path sources, and members of the node's uv workspace (how uv records a snapshot)."""
    data = read_pyproject(code / "pyproject.toml", shared=True)
    found = {
        name: (_resolve(code, str(source["path"])), bool(source.get("editable")))
        for name, source in path_sources(data).items()
    }
    for name, written in _folder_references(data).items():
        found.setdefault(name, (_resolve(code, written), False))
    for folder in _workspace_members(code, data):
        try:
            project = read_pyproject(folder / "pyproject.toml", shared=True).get("project", {})
            name = project.get("name")
        except InvalidInputError:
            continue  # unreadable: uv says so when it locks
        if isinstance(name, str):
            found.setdefault(name, (folder, True))
    return dict(sorted(found.items()))


def _folder_references(data: dict[str, Any]) -> dict[str, str]:
    """``folder_references`` of the packages ``[tool.uv.sources]`` does not name (a source
    there wins over the requirement's URL, as in uv)."""
    sources = data.get("tool", {}).get("uv", {}).get("sources", {})
    named = sources if isinstance(sources, dict) else {}
    return {k: v for k, v in folder_references(data).items() if k not in named}


def _workspace_members(code: Path, data: dict[str, Any]) -> list[Path]:
    workspace = data.get("tool", {}).get("uv", {}).get("workspace", {})
    members = workspace.get("members", []) if isinstance(workspace, dict) else []
    folders: list[Path] = []
    for pattern in members if isinstance(members, list) else []:
        if isinstance(pattern, str) and not Path(pattern).is_absolute() and ".." not in pattern:
            folders += sorted(p for p in code.glob(pattern) if p.is_dir())
    return folders


def library_nodes(code: Path) -> dict[str, str]:
    """Package -> id of the library node it is installed from (``env add --from-node``)."""
    return _libraries(_nodepipe_section(read_pyproject(code / "pyproject.toml", shared=True)))


def code_paths(code: Path) -> list[str]:
    """The folders the node puts on its import path, as written."""
    return _code_paths(_nodepipe_section(read_pyproject(code / "pyproject.toml", shared=True)))


def import_paths(code: Path) -> tuple[str, ...]:
    """The code paths resolved, for ``PYTHONPATH`` at launch."""
    return tuple(str(_resolve(code, written)) for written in code_paths(code))


def missing(code: Path, declared: tuple[ExternalCode, ...] | None = None) -> list[ExternalCode]:
    """Declared external code (``declared``, read from the node when not given) whose folder
    is gone."""
    items = external_code(code) if declared is None else declared
    return [item for item in items if not item.path.is_dir()]


def check_present(code: Path, declared: tuple[ExternalCode, ...] | None = None) -> None:
    """InvalidInputError naming every declared external folder that is missing."""
    gone = missing(code, declared)
    if gone:
        listed = "; ".join(f"{item.kind} {item.name} at {item.path}" for item in gone)
        raise InvalidInputError(
            f"external code is missing: {listed}; restore it, or remove it from the node"
        )


def declared_library_nodes(data: dict[str, Any]) -> dict[str, str]:
    """Package -> library node id, as a parsed ``pyproject.toml`` declares them."""
    return _libraries(_nodepipe_section(data))


def declared_code_paths(data: dict[str, Any]) -> list[str]:
    """The code paths a parsed ``pyproject.toml`` declares, as written."""
    return _code_paths(_nodepipe_section(data))


def code_path_problem(written: str) -> str | None:
    """Why the code path ``written`` cannot travel with its node (None when it can): only a
    relative path inside the node's ``code/`` means the same folder in a bundle, a package and
    every workspace that imports them. Anything else names a folder of the machine it was
    written on (another user's, ``/root/.ssh``) that an import would put on the node's import
    path, and every status would walk and hash."""
    if "\\" in written or _DRIVE.match(written) or "\x00" in written:
        return "it is not a plain relative path"
    if written.startswith(("/", "~")):
        return "it is absolute"
    normal = posixpath.normpath(written)
    if normal == ".." or normal.startswith("../"):
        return "it leads outside the node's code/ folder"
    return None


def foreign_code_paths(code: Path) -> list[str]:
    """The code paths of node ``code`` that lead outside its ``code/`` folder (as written,
    symbolic links followed), as written; [] when none do."""
    inside = code.resolve()
    return [
        written
        for written in code_paths(code)
        if code_path_problem(written) or not _resolve(code, written).is_relative_to(inside)
    ]


def set_code_paths(pyproject: Path, paths: list[str]) -> None:
    _set_key(pyproject, CODE_PATHS_KEY, paths)


def set_library_nodes(pyproject: Path, libraries: dict[str, str]) -> None:
    _set_key(pyproject, LIBRARY_KEY, dict(sorted(libraries.items())))


MAX_CODE_PATH = 4096
"""The longest path Linux takes (PATH_MAX), in characters here."""


def check_code_path(written: str) -> str:
    """A code path fit to record: a plain path a reason can name, and one entry of the node's
    ``PYTHONPATH`` (a ``:`` would make it two, neither of them the folder)."""
    if not isinstance(written, str):
        raise InvalidInputError(f"a code path is a folder's path as text, not {written!r:.80}")
    if "\x00" in written or len(written) > MAX_CODE_PATH:
        raise InvalidInputError(f"invalid code path {written[:80]!r}: no folder has that path")
    if not written.strip() or SHARED_CODE_SEPARATOR in written or "\n" in written:
        raise InvalidInputError(f"invalid code path {written!r}")
    if os.pathsep in written:
        raise InvalidInputError(
            f"invalid code path {written!r}: a folder whose path holds {os.pathsep!r} cannot "
            "go on a PYTHONPATH (it would read as two folders); rename it or link it"
        )
    return written


def library_packages(code: Path) -> dict[str, Path]:
    """The installable projects a library node holds: package name -> folder. Each folder of
    its ``code/`` (or of ``code/snapshots/``) with a pyproject.toml naming a project."""
    folders = [p for p in sorted(code.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    snapshots = code / SNAPSHOTS_DIR
    if snapshots.is_dir():
        folders += [  # not a leftover beside a snapshot (.NAME.previous.<hex>, NAME.undone-…)
            p
            for p in sorted(snapshots.iterdir())
            if p.is_dir() and not p.name.startswith(".") and ".undone-" not in p.name
        ]
    found: dict[str, Path] = {}
    for folder in folders:
        try:
            project = read_pyproject(folder / "pyproject.toml", shared=True).get("project", {})
            name = project.get("name")
        except InvalidInputError:
            continue
        if isinstance(name, str) and name:
            found.setdefault(name, folder)
    return found


def relink_libraries(code: Path, renamed: Mapping[str, str]) -> bool:
    """Point the node's library links at other nodes: ``renamed`` maps a library node's id to
    the id of the node that takes its place (its copy, in a duplicated pipeline). The
    editable path is rewritten in pyproject.toml and uv.lock alike (nothing is resolved: the
    copy's lock is the original's). True when something changed."""
    libraries = library_nodes(code)
    moved = {old: renamed[old] for old in libraries.values() if old in renamed}
    if not moved:
        return False
    for name in ("pyproject.toml", "uv.lock"):
        file = code / name
        if file.is_file():
            text = file.read_text(encoding="utf-8")
            for old, new in moved.items():
                text = text.replace(library_path_part(old), library_path_part(new))
            write_atomic(file, text)
    set_library_nodes(code / "pyproject.toml", {k: moved.get(v, v) for k, v in libraries.items()})
    return True


def forget_removed_libraries(code: Path) -> None:
    """Drop the library links of packages the node no longer installs from a folder."""
    libraries = library_nodes(code)
    sources = path_sources(read_pyproject(code / "pyproject.toml"))
    kept = {package: lib for package, lib in libraries.items() if package in sources}
    if kept != libraries:
        set_library_nodes(code / "pyproject.toml", kept)


def library_path_part(node_id: str) -> str:
    """The part of a library link's relative path naming the library node's folder."""
    return f"../../{node_id}/code/"


def _set_key(pyproject: Path, key: str, value: list[str] | dict[str, str]) -> None:
    import tomlkit  # only to edit (reading is tomllib's): every status imports this module

    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    section = tool.setdefault("nodepipe", tomlkit.table())
    if value:
        section[key] = value
    else:
        section.pop(key, None)
    write_atomic(pyproject, tomlkit.dumps(document))


def _nodepipe_section(data: dict[str, Any]) -> dict[str, Any]:
    section = data.get("tool", {}).get("nodepipe", {})
    return section if isinstance(section, dict) else {}


def _libraries(section: dict[str, Any]) -> dict[str, str]:
    found = section.get(LIBRARY_KEY, {})
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, str) and _node_key(v)}


def _node_key(value: str) -> bool:
    """A node id (in a workspace) or a node key (in a bundle): one plain path segment."""
    return looks_like_id(value) or (
        bool(value) and "/" not in value and "\\" not in value and value not in (".", "..")
    )


def normalised_lock(lock_text: bytes, libraries: Mapping[str, str]) -> bytes:
    """``uv.lock`` (or ``pyproject.toml``) with each library node written the same way
    whatever its id: a copy of a node (or its bundle) linked to the copy of its library node
    locks and declares the same as the original (the library's files are in the fingerprint
    on their own)."""
    text = lock_text
    for node_id in set(libraries.values()):
        text = text.replace(library_path_part(node_id).encode(), b"../../{library}/code/")
        text = text.replace(f'"{node_id}"'.encode(), b'"{library}"')
    return text


def _code_paths(section: dict[str, Any]) -> list[str]:
    found = section.get(CODE_PATHS_KEY, [])
    return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []


def _resolve(code: Path, written: str) -> Path:
    """``written`` (relative to ``code/``, ``~`` expanded) with its links followed; a link
    that loops (``mytool -> mytool``) stays as it is, to be found missing, not raise."""
    return Path(os.path.realpath(code / Path(written).expanduser()))
