"""A bundle node's files into a workspace node folder: code, data, bundle code and parameters.

What a bundle holds is copied through its ``BundleFiles`` (never through the current
directory, never its environments or caches). A node's bundle parameters are defaults under
its own ``params.yaml``: a key the node sets itself keeps its value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.files import MAX_READ_BYTES, LocalBundleFiles
from nodepipe.bundles.model import BundleFiles, ResolvedNode
from nodepipe.bundles.paths import folder_name
from nodepipe.bundles.tree import inside
from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.params import dump_params, parse_params
from nodepipe.domain.staleness import SHARED_CODE_SEPARATOR
from nodepipe.domain.toml_limits import load_toml
from nodepipe.envs.node_env import PYTHON_VERSION_FILE
from nodepipe.services.bundles.node_python import bundle_python_problems
from nodepipe.workspace.conda_project import foreign_conda_sources, local_conda_paths
from nodepipe.workspace.external_code import (
    CODE_PATHS_KEY,
    code_path_problem,
    declared_code_paths,
)
from nodepipe.workspace.fingerprint import fingerprint_node
from nodepipe.workspace.node_folder import NodeFolder

CODE = "code"
DATA = "data"
LOCK = "uv.lock"
PARAMS = "params.yaml"


def node_part(node: ResolvedNode, part: str) -> str:
    """The path of ``part`` (``code``, ``data``, a file of code) of ``node`` in its bundle."""
    return f"{node.entry.path}/{part}"


def missing_parts(node: ResolvedNode) -> list[str]:
    """What keeps a node of a bundle from being imported: a missing code folder or lock, a
    pyproject.toml or lock that is not TOML; what it asks for that an import refuses (a
    Python by path, or one not installed here: ``node_python``); a code path or conda source
    outside the bundle."""
    files = node.files
    if not files.exists(node_part(node, CODE)):
        code = node_part(node, CODE)
        return [f"{node.name}: its folder {code} {_leaving(files, code) or 'is missing'}"]
    pyproject, request = (
        node_part(node, f"{CODE}/pyproject.toml"),
        node_part(node, f"{CODE}/{PYTHON_VERSION_FILE}"),
    )
    python = bundle_python_problems(
        node.name, pyproject, _text(files, pyproject), request, _text(files, request)
    )
    if python:
        return python
    broken = _broken_toml(files, pyproject) if files.exists(pyproject) else None
    if broken is not None:  # named here: later checks read a scratch copy of it
        return [f"{node.name}: {pyproject} {broken}; the bundle's author must fix it"]
    lock = node_part(node, f"{CODE}/{LOCK}")
    if not files.exists(lock):
        return [f"{node.name}: {lock} is missing (lock it first)"]
    broken = _broken_toml(files, lock)
    if broken is not None:
        return [
            f"{node.name}: {lock} {broken}; the bundle's author must lock again and export again"
        ]
    foreign = foreign_conda_sources(
        _text(files, node_part(node, f"{CODE}/pyproject.toml")),
        _text(files, node_part(node, f"{CODE}/{CONDA_LOCK}")),
        files.root if isinstance(files, LocalBundleFiles) else None,
    )
    travelling = _foreign_code_paths(node)
    if travelling:
        return [travelling]
    if foreign:
        return [
            f"{node.name}: its conda packages would be installed from outside the bundle "
            f"({', '.join(foreign)}); a bundle may name only remote (http/https) channels "
            "or files it carries"
        ]
    return []


def _broken_toml(files: BundleFiles, path: str) -> str | None:
    """Why the TOML file at ``path`` (a ``uv.lock``, a ``pyproject.toml``) cannot be read as
    uv reads it (not UTF-8 text, not TOML); None when it can."""
    try:
        load_toml(files.read_bytes(path, MAX_READ_BYTES).decode("utf-8"))
    except BundleError as exc:  # a pipe, a socket or a device
        return f"cannot be read ({exc})"
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    except tomllib.TOMLDecodeError as exc:
        return f"is not valid TOML ({exc})"
    return None


def _foreign_code_paths(node: ResolvedNode) -> str | None:
    """Why the code paths of ``node``'s pyproject.toml are refused (``code_path_problem``: a
    bundle's code path names a folder inside the node's ``code/``), None when they are not."""
    pyproject = node_part(node, f"{CODE}/pyproject.toml")
    text = _text(node.files, pyproject)
    try:
        declared = declared_code_paths(load_toml(text or ""))
    except tomllib.TOMLDecodeError:
        return None  # the import reads it again and names the mistake
    refused = [
        f"{written!r} ({problem})"
        for written in declared
        if (problem := code_path_problem(written)) is not None
    ]
    if not refused:
        return None
    return (
        f"{node.name}: {pyproject} [tool.nodepipe] {CODE_PATHS_KEY} names a folder outside the "
        f"node: {', '.join(refused)}; a bundle's code path is a folder inside the node's code/ "
        "(its import path would otherwise hold a folder of this machine the bundle chose)"
    )


def _text(files: BundleFiles, relative: str) -> str | None:
    """A text file of the bundle, or None when it is missing or not text."""
    if not files.exists(relative):
        return None
    try:
        return files.read_bytes(relative, MAX_READ_BYTES).decode("utf-8")
    except (BundleError, UnicodeDecodeError):
        return None


def copy_node(
    node: ResolvedNode, folder: NodeFolder, with_data: bool, root: BundleFiles | None = None
) -> bool:
    """Copy ``node``'s code into the new ``folder``; with ``with_data`` also its data when
    present: in its own bundle, or for an included node in the ``root`` bundle imported
    (``nodes/NS.key/data``, where an export with data puts the outputs of included nodes).

    Returns whether data was copied.
    """
    problems = missing_parts(node)
    if problems:
        raise InvalidInputError(problems[0])
    folder.path.mkdir(parents=True, exist_ok=True)
    node.files.copy_tree(node_part(node, CODE), folder.code)
    if isinstance(node.files, LocalBundleFiles):  # a conda channel inside the bundle
        local_conda_paths(folder.code, node.files.root)
    source, data = data_source(node, root)
    copied = with_data and source.exists(data)
    if copied:
        source.copy_tree(data, folder.data)
    folder.make_output_dirs()
    merge_params(folder, node.params)
    return copied


def data_source(node: ResolvedNode, root: BundleFiles | None) -> tuple[BundleFiles, str]:
    """Where an import with data reads ``node``'s data: its own bundle's ``<path>/data``, or
    for an included node the ``root`` bundle's ``nodes/NS.key/data`` (where an export with
    data puts the outputs of included nodes)."""
    if node.namespace and root is not None:
        return root, f"nodes/{folder_name(node.name)}/{DATA}"
    return node.files, node_part(node, DATA)


def missing_py_dir(files: BundleFiles, py_dir: str) -> str | None:
    """Why a bundle's ``py-dir`` cannot be copied because it is not there (None: it is)."""
    if files.exists(py_dir):
        return None
    leaving = _leaving(files, py_dir)
    if leaving:
        return f"the bundle's py-dir {py_dir!r} {leaving}"
    return f"the bundle's py-dir {py_dir!r} is missing from {files.location}"


def _leaving(files: BundleFiles, relative: str) -> str | None:
    """Why ``relative``, which the bundle does not hold, is refused when it is a link leading
    out of the bundle (None: it is just missing)."""
    if isinstance(files, LocalBundleFiles):
        try:
            inside(files.root, relative)
        except BundleError as error:
            return f"is refused: {error}; copy what it links into the bundle"
    return None


def copy_lib(files: BundleFiles, py_dir: str, target: Path) -> None:
    """Copy a bundle's ``py-dir`` into the new folder ``target`` (without caches)."""
    missing = missing_py_dir(files, py_dir)
    if missing is not None:
        raise InvalidInputError(missing)
    files.copy_tree(py_dir, target)


def merged_params(own: Mapping[str, Any], bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle's parameters as defaults, the node's own on top."""
    return {**dict(bundle), **dict(own)}


def merge_params(folder: NodeFolder, bundle: Mapping[str, Any]) -> None:
    """Write the bundle's parameters the node does not set itself into its params.yaml."""
    if not bundle:
        return
    file = folder.params_file
    own = parse_params(file.read_text(encoding="utf-8"), str(file)) if file.is_file() else {}
    merged = merged_params(own, bundle)
    if merged != own:
        file.write_text(dump_params(merged), encoding="utf-8")


def own_code(folder: NodeFolder) -> tuple[object, ...]:
    """What of a node's fingerprint its own folder decides: its code files, lock and
    parameters (not the bundle code it links, not its inputs)."""
    value = fingerprint_node(folder, {}, "")
    code = {
        path: digest for path, digest in value.code.items() if SHARED_CODE_SEPARATOR not in path
    }
    return code, value.lock_digest, value.params_digest, value.conda_digest
