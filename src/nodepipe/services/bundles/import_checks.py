"""What an import refuses in a bundle's nodes, found before anything is written.

``bundle check`` asks exactly what ``bundle import`` asks, here, so that a bundle check passes
is one import takes: every node's parts (``node_files.missing_parts``: code folder, lock,
Python request, code paths, conda sources); its ``data/``, walked as the copy walks it (a link
out of the bundle is refused; ``code/`` and the ``py-dir`` are walked when the bundle is
hashed, ``bundles.content``); each bundle's ``py-dir`` present; and what import checks once a
node's code is staged (``staged_problems``: a library node the bundle does not hold, a
``[tool.uv.sources]``/``uv.lock`` path or code path outside the bundle). The staged checks run
on a scratch copy of each node's ``pyproject.toml`` and ``uv.lock`` laid out as the import
lays out its folders, in a temporary folder outside the workspace, removed at once. Every
problem is kept, each one line naming its node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.files import MAX_READ_BYTES
from nodepipe.bundles.model import BundleFiles, ResolvedNode, ResolvedPipeline
from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.ids import new_id
from nodepipe.services.bundles.node_files import (
    CODE,
    LOCK,
    data_source,
    missing_parts,
    missing_py_dir,
    node_part,
)
from nodepipe.workspace import local_sources
from nodepipe.workspace.external_code import (
    CODE_PATHS_KEY,
    foreign_code_paths,
    library_nodes,
    relink_libraries,
)

STAGED_FILES = ("pyproject.toml", LOCK)
"""The files of a node's code the staged checks read."""


def import_problems(
    resolved: ResolvedPipeline, *, with_data: bool, root: BundleFiles | None
) -> list[str]:
    """Everything an import of ``resolved`` (its data too, ``with_data``; an included node's
    data from ``root``) would refuse in its nodes and py-dirs; [] when it would take them."""
    problems: list[str] = []
    whole: list[ResolvedNode] = []
    for node in resolved.nodes:
        missing = missing_parts(node)
        problems += missing or _data_problems(node, with_data, root)
        if not missing:
            whole.append(node)
    problems += _py_dir_problems(resolved.nodes)
    problems += _scratch_problems(whole, {node.name: new_id() for node in resolved.nodes})
    return problems


def staged_problems(
    name: str, code: Path, siblings: Mapping[str, str], operation: Path
) -> list[BundleError]:
    """What an import refuses in node ``name`` once its code is staged in ``code`` (library
    links relinked to ``siblings``: key → new id) inside the import's ``operation`` folder: a
    library node the bundle does not hold; a local source or code path outside the bundle."""
    problems: list[BundleError] = []
    dangling = [
        f"{package} = {library!r}"
        for package, library in sorted(library_nodes(code).items())
        if library not in siblings.values()
    ]
    if dangling:
        problems.append(
            BundleError(
                f"node {name!r} installs from library nodes the bundle does not hold "
                f"([tool.nodepipe.library-nodes] {', '.join(dangling)}); export the library "
                "node with it, or take a snapshot of the library into the node"
            )
        )
    foreign = local_sources.outside(code, operation) + [
        f"pyproject.toml: {CODE_PATHS_KEY} {written}" for written in foreign_code_paths(code)
    ]
    if foreign:
        problems.append(
            BundleError(
                f"node {name!r} would have its environment built from outside the bundle "
                f"({', '.join(foreign)}); a bundle carries only its own files, so its author "
                "must take a snapshot of that code into the node and export it again"
            )
        )
    return problems


def bundle_siblings(name: str, ids: Mapping[str, str]) -> dict[str, str]:
    """Key -> new id of the nodes of the bundle (at the same include depth) that ``name``
    belongs to: a library link in a bundle names its library node by key."""
    prefix = name.rpartition(".")[0]
    prefix = f"{prefix}." if prefix else ""
    return {
        other[len(prefix) :]: node_id
        for other, node_id in ids.items()
        if other.startswith(prefix) and "." not in other[len(prefix) :]
    }


def _data_problems(node: ResolvedNode, with_data: bool, root: BundleFiles | None) -> list[str]:
    """``node``'s data folder, when the import copies it, walked as the copy walks it."""
    source, data = data_source(node, root)
    if not with_data or not source.exists(data):
        return []
    try:
        source.files(data)
    except NodepipeError as error:
        return [f"{node.name}: {data}: {error}"]
    return []


def _py_dir_problems(nodes: Sequence[ResolvedNode]) -> list[str]:
    """Each bundle's py-dir, once: present (its links are checked when it is hashed)."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for node in nodes:
        if node.py_dir is None or (str(node.files.location), node.py_dir) in seen:
            continue
        seen.add((str(node.files.location), node.py_dir))
        missing = missing_py_dir(node.files, node.py_dir)
        if missing is not None:
            problems.append(missing)
    return problems


def _scratch_problems(nodes: Sequence[ResolvedNode], ids: Mapping[str, str]) -> list[str]:
    """``staged_problems`` of each node, on a scratch copy of its pyproject.toml and uv.lock
    laid out as the import stages its folders (``<operation>/<id>/code``)."""
    import tempfile  # imports random: not on the path of every command

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nodepipe-check-") as scratch:
        operation = Path(scratch)
        for node in nodes:
            code = operation / ids[node.name] / CODE
            code.mkdir(parents=True)
            siblings = bundle_siblings(node.name, ids)
            try:
                for name in STAGED_FILES:
                    relative = node_part(node, f"{CODE}/{name}")
                    if node.files.exists(relative):
                        (code / name).write_bytes(node.files.read_bytes(relative, MAX_READ_BYTES))
                relink_libraries(code, siblings)
                problems += map(str, staged_problems(node.name, code, siblings, operation))
            except NodepipeError as error:
                problems.append(f"{node.name}: {error}")
    return problems
