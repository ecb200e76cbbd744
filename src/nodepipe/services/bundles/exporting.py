"""Export: a workspace pipeline as a bundle directory, deterministic and never half-written.

``pipeline.toml`` names every node by its tag, with its notes, group and canvas position, and
every edge by tags and slot. The nodes an include brought are written back as
``[includes.NS]`` (its source made relative to the new directory) when that include can still
be resolved to what was imported and none of its nodes was edited here; otherwise they are
inlined as ordinary nodes keyed ``NS.key`` (their tags), so nothing edited is lost.
Parameters are written only in each node's ``params.yaml`` (a bundle's ``[params]`` were merged
there on import). Nodes linking bundle code get it back as ``lib/`` (``py-dir``).
``[inputs]`` are the ones given (``--input``), else the ones the pipeline declares in the
workspace (by node id, so a renamed node keeps its inputs under its new tag), less a node the
pipeline now feeds on that slot itself (left out with a warning, see ``with_inputs``).
``pipeline.lock`` records each node's fingerprint, lock hash and output digest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.bundles.lockfile import LockRecord
from nodepipe.bundles.model import (
    BundleDefinition,
    EdgeEntry,
    IncludeEntry,
    NodeEntry,
    frozen_mapping,
)
from nodepipe.bundles.paths import folder_name
from nodepipe.domain.bundles import PipelineInclude
from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.domain.model import PipelineView
from nodepipe.domain.names import validate_slot
from nodepipe.domain.states import NodeState
from nodepipe.services.runs.status import NodeStatusView
from nodepipe.workspace import local_sources
from nodepipe.workspace.bundle_libs import read_links
from nodepipe.workspace.code_trees import EXCLUDED_DIRS
from nodepipe.workspace.conda_project import foreign_conda_sources, portable_conda_paths
from nodepipe.workspace.external_code import (
    CODE_PATHS_KEY,
    foreign_code_paths,
    library_nodes,
    relink_libraries,
)
from nodepipe.workspace.file_digests import sha256_file
from nodepipe.workspace.node_folder import COPY_IGNORED, NodeFolder, special_entries
from nodepipe.workspace.snapshots import forget_snapshot_credentials

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession

DEFAULT_PY_DIR = "lib"


@dataclass
class ExportPlan:
    """What an export writes: the definition, each node's folder by key, the bundle code."""

    definition: BundleDefinition
    folders: dict[str, NodeFolder]
    libs: list[Path]
    lock: dict[str, LockRecord]
    kept: tuple[str, ...]
    inlined: tuple[str, ...]
    included: dict[str, NodeFolder]
    """The nodes of kept includes, by qualified name: with data, their outputs are written
    to ``nodes/NS.key/data`` (their code stays in the included bundle)."""
    data: set[str] = field(default_factory=set)
    keys: dict[str, str] = field(default_factory=dict)
    """Node id -> its key in the bundle, for the nodes written here (library links name them)."""
    libraries: dict[str, str] = field(default_factory=dict)
    """Node id -> tag of every library node the exported nodes install from."""
    pipeline_id: str = ""
    declared: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The inputs the pipeline declares in the workspace (set by an import or by an export
    with inputs): input name -> node ids."""
    remember: dict[str, tuple[str, ...]] | None = None
    """The inputs (input name -> node ids) the pipeline declares once the export is written
    (``with_inputs``); None: they stay as they are."""
    warnings: tuple[str, ...] = ()
    """What the export did that was not asked for (a declared input left out)."""


KeepInclude = Callable[
    [PipelineInclude, Mapping[str, NodeFolder], frozenset[EdgeEntry]], str | None
]
"""Given a top-level include (its inputs fed by tags), its nodes' folders by qualified name
(at every depth) and the edges into them (a node of the include by its qualified name, any
other by its tag): the source to write for it (relative to the export directory), or None to
inline its nodes."""


def plan_export(
    session: StoreSession,
    view: PipelineView,
    statuses: Mapping[str, NodeStatusView],
    folder_of: Callable[[str], NodeFolder],
    keep: KeepInclude,
) -> ExportPlan:
    rows = session.includes_of_pipeline(view.pipeline.id)
    members = session.include_members([row.id for row in rows])
    namespaces = {row.id: row.namespace for row in rows}
    shown = view.node_ids
    kept: dict[str, str] = {}  # node id -> its qualified name under a kept include
    included: dict[str, NodeFolder] = {}
    kept_entries: list[IncludeEntry] = []
    inlined: list[str] = []
    for include in (row for row in rows if row.is_top_level):
        own = {
            f"{namespaces[m.include_id]}.{m.key}": m.node_id
            for m in members
            if include.covers(namespaces[m.include_id]) and m.node_id in shown
        }
        found = {name: folder_of(node_id) for name, node_id in own.items()}
        fed_by = {name: _tag(view, ref) for name, ref in include.inputs.items()}
        into = _edges_into(view, {node_id: name for name, node_id in own.items()})
        source = keep(replace(include, inputs=fed_by), found, into) if own else None
        if source is None or not _inputs_cover(view, include, set(own.values())):
            inlined.append(include.namespace)
            continue
        kept_entries.append(IncludeEntry(include.namespace, source, fed_by, include.params))
        kept.update({node_id: name for name, node_id in own.items()})
        included.update(found)
    names: dict[str, str] = {}
    nodes: list[NodeEntry] = []
    folders: dict[str, NodeFolder] = {}
    groups = {g.id: g.name for g in view.groups}
    for item in sorted(view.nodes, key=lambda i: (i.node.tag, i.node.id)):
        node = item.node
        if node.id in kept:
            names[node.id] = kept[node.id]
            continue
        if node.tag in folders:
            raise InvalidInputError(
                f"two nodes of pipeline {view.pipeline.tag!r} are tagged {node.tag!r}; a bundle "
                "names nodes by tag: retag one of them first"
            )
        names[node.id] = node.tag
        folders[node.tag] = folder_of(node.id)
        group = groups.get(item.membership.group_id or "")
        nodes.append(
            NodeEntry(
                key=node.tag,
                path=f"nodes/{folder_name(node.tag)}",
                notes=node.notes,
                group=group,
                position=(item.membership.x, item.membership.y),
            )
        )
    edges = [
        EdgeEntry(names[e.parent_id], names[e.child_id], e.slot)
        for e in view.edges
        if e.child_id not in kept
    ]
    libs, py_dir = _libs(folders)
    definition = BundleDefinition(
        name=view.pipeline.tag,
        notes=view.pipeline.notes,
        py_dir=py_dir,
        nodes=tuple(nodes),
        edges=tuple(sorted(edges, key=lambda e: (e.parent, e.child, e.slot))),
        includes=tuple(sorted(kept_entries, key=lambda i: i.namespace)),
    )
    lock = {names[node_id]: _lock_record(status) for node_id, status in statuses.items()}
    return ExportPlan(
        definition,
        folders,
        libs,
        {k: v for k, v in lock.items() if v is not None},
        tuple(e.namespace for e in kept_entries),
        tuple(inlined),
        included,
        keys={node_id: key for node_id, key in names.items() if key in folders},
        libraries=_library_tags(session, folders),
        pipeline_id=view.pipeline.id,
        declared=session.pipeline_inputs(view.pipeline.id),
    )


def declared_inputs(plan: ExportPlan) -> dict[str, tuple[str, ...]]:
    """The inputs the pipeline declares (``plan.declared``) by the keys of the nodes written:
    a node not written here (a node of a kept include) is left out, and so is an input with no
    node left."""
    inputs = {
        name: tuple(plan.keys[node_id] for node_id in ids if node_id in plan.keys)
        for name, ids in plan.declared.items()
    }
    return {name: tags for name, tags in inputs.items() if tags}


def input_ids(plan: ExportPlan) -> dict[str, tuple[str, ...]]:
    """The bundle's ``[inputs]`` (by key) as node ids, for the workspace to remember."""
    ids = {key: node_id for node_id, key in plan.keys.items()}
    return {name: tuple(ids[tag] for tag in tags) for name, tags in plan.definition.inputs.items()}


def with_inputs(
    plan: ExportPlan, inputs: Mapping[str, Sequence[str]], given: bool = True
) -> ExportPlan:
    """``plan`` declaring ``inputs`` (input name → the tags of the exported nodes that take
    it): InvalidInputError, before anything is written, for a name that is not a slot, a node
    the bundle does not hold, or a node that already reads that slot from a node of its own.
    ``given``: the inputs come from the caller (``--input``), and the pipeline declares them
    once the export is written. Otherwise they are the ones the pipeline declares: a node that
    now reads that slot from a node of the pipeline (someone connected it) is left out of the
    input, with a warning, and out of what the pipeline declares once the export is written;
    an input with no node left is not written."""
    feeding = {(edge.child, edge.slot): edge.parent for edge in plan.definition.edges}
    declared: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, set[str]] = {}
    warnings: list[str] = []
    for name, tags in inputs.items():
        validate_slot(name)
        takers: set[str] = set()
        for tag in tags:
            if tag not in plan.folders:
                known = ", ".join(sorted(plan.folders)) or "none"
                raise InvalidInputError(
                    f"input {name}={tag}: the bundle holds no node {tag!r} (nodes: {known})"
                )
            parent = feeding.get((tag, name))
            if parent is not None and given:
                raise InvalidInputError(
                    f"input {name}={tag}: {tag} already reads slot {name!r} from {parent}, a "
                    "node of the bundle; name another slot"
                )
            if parent is not None:
                dropped.setdefault(name, set()).add(tag)
                warnings.append(
                    f"input {name!r}: {tag} now reads slot {name!r} from {parent} in the "
                    "pipeline, so it no longer takes the input; the pipeline no longer "
                    f"declares it for {tag}"
                )
                continue
            takers.add(tag)
        if takers:
            declared[name] = tuple(sorted(takers))
        elif name in dropped:
            warnings[-1] += f", and input {name!r}, taken by no other node, is not written"
    definition = replace(plan.definition, inputs=frozen_mapping(dict(sorted(declared.items()))))
    remember = _remembered(plan, dropped) if dropped else None
    plan = replace(plan, definition=definition, warnings=tuple(warnings))
    return replace(plan, remember=input_ids(plan) if given else remember)


def _remembered(plan: ExportPlan, dropped: Mapping[str, set[str]]) -> dict[str, tuple[str, ...]]:
    """The inputs the pipeline declares (by node id) without the nodes ``dropped`` (input name
    → tags) from them; an input with no node left goes."""
    ids = {key: node_id for node_id, key in plan.keys.items()}
    left = {
        name: tuple(i for i in node_ids if i not in {ids[t] for t in dropped.get(name, ())})
        for name, node_ids in plan.declared.items()
    }
    return {name: node_ids for name, node_ids in left.items() if node_ids}


def _library_tags(session: StoreSession, folders: Mapping[str, NodeFolder]) -> dict[str, str]:
    ids = {lib for folder in folders.values() for lib in library_nodes(folder.code).values()}
    return {node_id: node.tag for node_id, node in session.get_nodes(ids).items()}


def _inputs_cover(view: PipelineView, include: PipelineInclude, own: set[str]) -> bool:
    """Whether every edge from outside into the include's nodes comes from a node its inputs
    name (otherwise the include no longer says how its nodes are fed)."""
    tags = {item.node.id: item.node.tag for item in view.nodes}
    feeding = {_tag(view, ref) for ref in include.inputs.values()}
    return all(
        tags[e.parent_id] in feeding
        for e in view.edges
        if e.child_id in own and e.parent_id not in own
    )


def _edges_into(view: PipelineView, own: Mapping[str, str]) -> frozenset[EdgeEntry]:
    """The edges into the nodes ``own`` names (id → qualified name), each end named by its
    qualified name, or by its tag outside the include."""
    tags = {item.node.id: item.node.tag for item in view.nodes}
    return frozenset(
        EdgeEntry(own.get(e.parent_id, tags[e.parent_id]), own[e.child_id], e.slot)
        for e in view.edges
        if e.child_id in own
    )


def _tag(view: PipelineView, ref: str) -> str:
    """The tag of the node an include records as feeding it (by id; an older record: by
    tag, as it is)."""
    return view.node(ref).node.tag if ref in view.node_ids else ref


def _lock_record(status: NodeStatusView) -> LockRecord | None:
    if status.fingerprint is None:
        return None
    digest = status.output_digest if status.state is NodeState.COMPLETED else None
    return LockRecord(status.fingerprint.digest, status.fingerprint.lock_digest, digest)


def _libs(folders: Mapping[str, NodeFolder]) -> tuple[list[Path], str | None]:
    """The lib folders the exported nodes link, and the py-dir to write them to."""
    links = [link for folder in folders.values() for link in read_links(folder)]
    paths = sorted({link.path for link in links if link.path.is_dir()})
    if not paths:
        return [], None
    names = {link.name for link in links}
    return paths, (names.pop() if len(names) == 1 else DEFAULT_PY_DIR)


def check_sources(plan: ExportPlan) -> None:
    """Refuse, before anything is written, a node whose environment is built from a local
    folder or file the bundle will not carry (a ``--path`` project, a shared checkout, a
    library node that is not exported with it): an import refuses such a node (the rule of
    ``local_sources``), so the bundle or package could not be used anywhere; likewise a node
    whose conda packages come from a local channel (an import installs conda packages only
    from http(s) channels or files inside the bundle); and a node with a code path outside
    its ``code/`` (``env code-path add``): the exporter's folder would be on the import path
    of every node imported from it (``external_code.foreign_code_paths``, the rule an import
    applies)."""
    carried = [folder.code for folder in plan.folders.values()]
    ids = {key: node_id for node_id, key in plan.keys.items()}  # hints name a node by id
    for key, folder in sorted(plan.folders.items()):
        for package, library in sorted(library_nodes(folder.code).items()):
            if library not in plan.keys:
                tag = plan.libraries.get(library, library)
                raise InvalidInputError(
                    f"node {key!r} installs {package!r} from library node {tag!r}, which is "
                    f"not exported with it (it is in another pipeline): export a pipeline "
                    f"holding both nodes, or take a snapshot of the library into {key!r}",
                    hint=Hint(Action.ENV_SNAPSHOT, {"node": ids.get(key, key), "tag": key}),
                )
        code_paths = foreign_code_paths(folder.code)
        if code_paths:
            raise InvalidInputError(
                f"node {key!r} imports code from outside its code/ folder "
                f"(pyproject.toml [tool.nodepipe] {CODE_PATHS_KEY}: {', '.join(code_paths)}); "
                "a bundle or package carries only its nodes' own files, so the node would "
                "import whatever is at that path, or fail, wherever it is imported",
                hint=Hint(
                    Action.CODE_PATH_COPY,
                    {"node": ids.get(key, key), "tag": key, "path": code_paths[0]},
                ),
            )
        foreign = local_sources.outside(folder.code, *carried)
        if foreign:
            raise InvalidInputError(
                f"node {key!r} installs from outside the nodes exported with it "
                f"({', '.join(foreign)}); a bundle or package carries only its nodes' own "
                "files, so no workspace could import it",
                hint=Hint(Action.ENV_SNAPSHOT, {"node": ids.get(key, key), "tag": key}),
            )
        local = foreign_conda_sources(
            _read_text(folder.code / "pyproject.toml"), _read_text(folder.code / CONDA_LOCK), None
        )
        if local:
            raise InvalidInputError(
                f"node {key!r} installs conda packages from a local channel or file "
                f"({local[0]}); a bundle or package carries no conda channel and an import "
                "reads none of this "
                "machine's folders",
                hint=Hint(Action.CONDA_CHANNEL, {"node": ids.get(key, key), "tag": key}),
            )


def _read_text(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_nodes(plan: ExportPlan, directory: Path, with_data: bool, root: Path) -> None:
    """Each node's code (no environments, no caches), and data when asked and present; local
    conda channel paths relative to ``root``, where the bundle will be."""
    paths = {node.key: node.path for node in plan.definition.nodes}
    for key, folder in sorted(plan.folders.items()):
        target = directory / paths[key]
        if not folder.code.is_dir():
            raise InvalidInputError(f"the folder of node {key!r} is missing: {folder.code}")
        shutil.copytree(folder.code, target / "code", ignore=left_out, symlinks=True)
        forget_snapshot_credentials(target / "code" / "pyproject.toml")
        portable_conda_paths(target / "code", root)
        relink_libraries(target / "code", plan.keys)  # a library node by its key in the bundle
        if with_data and folder.has_data():
            shutil.copytree(folder.data, target / "data", symlinks=True, ignore=special_entries)
            plan.data.add(key)
    for name, folder in sorted(plan.included.items()) if with_data else ():
        if folder.has_data():
            target = directory / "nodes" / folder_name(name) / "data"
            shutil.copytree(folder.data, target, symlinks=True, ignore=special_entries)
            plan.data.add(name)


def left_out(folder: str, entries: list[str]) -> set[str]:
    """What a bundle leaves out of a node's code: environments and caches, and git folders (a
    snapshot clone's ``.git/config`` may name its remote with credentials; import drops them),
    and pipes, sockets and devices (``special_entries``)."""
    return COPY_IGNORED(folder, entries) | ({".git"} & set(entries))


def write_libs(plan: ExportPlan, directory: Path) -> None:
    """The linked libs merged into the bundle's py-dir; two different files at one path are
    refused (the bundle would not know which its nodes import)."""
    if plan.definition.py_dir is None:
        return
    target = directory / plan.definition.py_dir
    seen: dict[str, str] = {}
    for lib in plan.libs:
        for path in sorted(lib.rglob("*")):
            relative = path.relative_to(lib).as_posix()
            if path.is_dir() or _ignored(relative):
                continue
            digest = sha256_file(path)
            if seen.setdefault(relative, digest) != digest:
                raise InvalidInputError(
                    f"the nodes link different bundle code with the same file {relative!r}; "
                    "export the pipelines that include them separately"
                )
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)


def _ignored(relative: str) -> bool:
    parts = relative.split("/")
    return relative.endswith(".pyc") or any(
        part in EXCLUDED_DIRS or part.startswith((".venv.", ".conda.")) for part in parts
    )


def relative_source(location: str, directory: Path) -> str:
    """A local include location as a path relative to the export directory."""
    return Path(os.path.relpath(location, directory.absolute())).as_posix()
