"""Updating an include in place: re-read the bundle, then change only what changed.

A node whose code, lock or parameters differ from the bundle's gets the bundle's ``code/`` in
place (same id, same outputs): its fingerprint changes, so it shows stale with the reason
("code changed: main.py", "lock changed: numpy 1.26.4 → 2.1.0"). Bundle code that changed is
copied as a new lib and linked ("shared code changed: lib (features.py)"). Nodes new in the
bundle are added (environments synced); nodes gone from it are removed only when confirmed,
otherwise nothing changes and the error lists them. New folders, swapped code and the rows
are all or nothing (``staged_folders``, ``code_swap``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.bundles.model import EdgeEntry, ResolvedInclude, ResolvedNode, ResolvedPipeline
from nodepipe.bundles.tree import is_skipped
from nodepipe.domain.bundles import IncludeMember, PipelineInclude
from nodepipe.domain.errors import ConflictError, InvalidInputError, NotFoundError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Pipeline
from nodepipe.services import resolver
from nodepipe.services.bundles.code_swap import code_swaps
from nodepipe.services.bundles.creation import (
    LibKey,
    NodesToCreate,
    SyncProgress,
    include_row,
    insert_nodes,
    install,
    lib_key,
    stage_nodes,
)
from nodepipe.services.bundles.included_code import (
    KeptCode,
    code_record,
    edited_files,
    keep_code,
    keep_dropped_code,
    keep_lib,
    lib_record,
    read_lib_record,
    read_record,
    record_text,
    write_lib_record,
)
from nodepipe.services.bundles.including import feeder, feeders_by_id, feeding_edges
from nodepipe.services.bundles.node_files import copy_lib, copy_node, own_code
from nodepipe.services.bundles.prefixing import InputsChangedError
from nodepipe.services.context import WorkspaceContext, now
from nodepipe.services.graph.library_links import check_no_library_users
from nodepipe.services.graph.removal import deleted_by_removal, remove_from_pipeline
from nodepipe.services.graph.staged_folders import (
    FolderBatch,
    delete_nodes_on_disk,
    remove_unlinked_libs,
    staged_folders,
    sync_node_environment,
)
from nodepipe.workspace.bundle_libs import read_links
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.node_folder import NodeFolder

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


class RemovalsNotConfirmedError(ConflictError):
    """The bundle no longer has some nodes of the include; removing them must be confirmed."""

    def __init__(self, message: str, nodes: tuple[str, ...]) -> None:
        super().__init__(message)
        self.nodes = nodes


class EditedNodesError(ConflictError):
    """Nodes of the include were edited since it installed their code, and the update would
    replace it; replacing the edits must be asked for (``replace_edits``)."""

    def __init__(self, message: str, nodes: tuple[str, ...]) -> None:
        super().__init__(message)
        self.nodes = nodes


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What an update changed, by node tag."""

    pipeline: str
    namespace: str
    content_hash: str
    changed: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    kept: tuple[KeptCode, ...] = ()
    """The code of changed nodes copied before it was replaced: edited ones (with
    ``replace_edits``) and those included before nodepipe recorded what it installed."""
    disconnected: tuple[str, ...] = ()
    """The edges into the include's nodes that the update removed because the bundle (or the
    inputs it is fed by) no longer makes them, or never did (connected here):
    ``parent → child (slot)``."""


@dataclass(frozen=True, slots=True)
class CurrentInclude:
    """An include as the workspace has it: its rows and its nodes by qualified name."""

    pipeline: Pipeline
    top: PipelineInclude
    rows: tuple[PipelineInclude, ...]
    """The include and every include inside it."""
    nodes: dict[str, str]
    """Qualified name (``NS.key``) → node id."""


def current_include(session: StoreSession, pipeline: Pipeline, namespace: str) -> CurrentInclude:
    rows = [r for r in session.includes_of_pipeline(pipeline.id) if r.namespace == namespace]
    if rows and not rows[0].is_top_level:
        outer = namespace.split(".", 1)[0]
        raise NotFoundError(
            f"include {namespace!r} of pipeline {pipeline.tag!r} is inside include {outer!r}, "
            f"which brought it: update {outer!r}, which reads {namespace!r} again too"
        )
    if not rows:
        known = [r.namespace for r in session.includes_of_pipeline(pipeline.id) if r.is_top_level]
        raise NotFoundError(
            f"pipeline {pipeline.tag!r} has no include {namespace!r} "
            f"(includes: {', '.join(known) or 'none'})"
        )
    top = rows[0]
    inside = tuple(r for r in session.includes_of_pipeline(pipeline.id) if top.covers(r.namespace))
    members = session.include_members([r.id for r in inside])
    namespaces = {r.id: r.namespace for r in inside}
    nodes = {f"{namespaces[m.include_id]}.{m.key}": m.node_id for m in members}
    return CurrentInclude(pipeline, top, inside, nodes)


def check_include_feeders(
    session: StoreSession, current: CurrentInclude, inputs: Mapping[str, str]
) -> None:
    """Each node ``inputs`` names feeds the include from now on: one the pipeline shows
    (not found there, the error names the input), and not a node of the include itself."""
    own = set(current.nodes.values())
    for name, ref in sorted(inputs.items()):
        node = feeder(session, current.pipeline, name, ref)
        if node.id in own:
            raise InvalidInputError(
                f"input {name!r}: {node.tag} is a node of include {current.top.namespace!r} "
                "itself; feed it from a node of the pipeline outside the include"
            )


def check_recorded_feeders(session: StoreSession, current: CurrentInclude) -> None:
    """InputsChangedError when a node the include records as feeding one of its inputs is no
    longer in the pipeline (removed, deleted): the update must be told what feeds it now."""
    for name, ref in sorted(current.top.inputs.items()):
        try:
            resolver.node(session, ref, current.pipeline)
        except NotFoundError:
            node = session.get_node(ref)
            gone = f"{node.tag} ({ref})" if node is not None else f"a node since deleted ({ref})"
            raise InputsChangedError(
                f"input {name!r} of include {current.top.namespace!r} was fed by {gone}, which "
                f"pipeline {current.pipeline.tag!r} no longer shows; nothing was changed. Update "
                f"it naming the node of the pipeline that feeds each input ({name}=NODE)"
            ) from None


def update_include(
    context: WorkspaceContext,
    current: CurrentInclude,
    resolved: ResolvedPipeline,
    top: ResolvedInclude,
    feeding: list[EdgeEntry],
    confirm_removals: bool,
    jobs: int,
    on_synced: SyncProgress | None,
    replace_edits: bool = False,
) -> UpdateResult:
    """Bring ``current`` to ``resolved`` (the bundle as included now, names qualified).

    A node whose code would be replaced and that was edited since the include installed it
    (``included_code``) refuses the update (EditedNodesError, nothing changed) unless
    ``replace_edits``; its code is then copied to its ``undone-edits/`` first, as is the code
    of a node whose installed code was never recorded. A node the bundle dropped that was
    edited or never recorded refuses it the same way; with ``replace_edits`` its code is
    copied to the workspace's ``.nodepipe/undone-edits/`` before the node is deleted."""
    wanted = {node.name: node for node in resolved.nodes}
    removed = sorted(set(current.nodes) - set(wanted))
    if removed and not confirm_removals:
        raise RemovalsNotConfirmedError(
            f"the bundle no longer has {', '.join(removed)}; nothing was changed. Removing "
            "them must be confirmed",
            tuple(removed),
        )
    if removed:
        _check_no_library_users(context, current, removed)
    added = [node for node in resolved.nodes if node.name not in current.nodes]
    _check_added_tags_free(context, current, [node.name for node in added])
    common = [node for node in resolved.nodes if node.name in current.nodes]
    when = now()
    with staged_folders(context) as batch:
        changed, records = _stage_changed_code(context, batch, current, common)
        libs, relink_keys, old_edits = _libs(context, batch, current, common)
        to_keep, dropped = _check_edits(
            context, current, changed, removed, old_edits, replace_edits
        )
        plan = NodesToCreate(tuple(added))
        stage_nodes(batch, plan, with_data=False, libs=libs)
        install(batch, plan, jobs, on_synced)
        old_libs = _linked_libs(context, current)
        batch.operation.record(libs=[*batch.operation.intent.get("libs", []), *old_libs])
        relinks = {
            current.nodes[node.name]: {node.py_dir: libs[key]}
            for node in common
            if (key := lib_key(node)) in relink_keys and node.py_dir is not None
        }
        kept = _keep_code(context, batch, current, to_keep, dropped)
        kept += _keep_libs(context, batch, current, old_edits)
        crash_point("update.code-kept")
        with code_swaps(context, current.top.id, when) as swaps:
            swaps.staged = {current.nodes[name]: path for name, path in changed.items()}
            swaps.records = {current.nodes[name]: text for name, text in records.items()}
            swaps.swap_all(relinks)
            for name in changed:
                sync_node_environment(context, context.layout.node_folder(current.nodes[name]).code)
            with context.store.write() as session:
                deleted, disconnected = _write_rows(
                    session, batch, current, resolved, top, plan, feeding, removed, when
                )
        delete_nodes_on_disk(context, deleted)
        remove_unlinked_libs(context, old_libs)
    return UpdateResult(
        current.pipeline.tag,
        current.top.namespace,
        top.content_hash,
        tuple(sorted(changed)),
        tuple(sorted(node.name for node in added)),
        tuple(removed),
        tuple(sorted(n.name for n in common if n.name not in changed)),
        kept,
        disconnected,
    )


def _check_no_library_users(
    context: WorkspaceContext, current: CurrentInclude, removed: list[str]
) -> None:
    """ConflictError, before anything is staged, when a node outside the include links a
    library node whose folder the update would delete (as ``node rm`` refuses it). The
    include's own nodes are not asked about: they get the bundle's code, which holds its
    library links inside the bundle."""
    with context.store.read() as session:
        found = list(session.get_nodes([current.nodes[name] for name in removed]).values())
        doomed = deleted_by_removal(session, current.pipeline, found)
        check_no_library_users(
            context,
            session,
            current.pipeline,
            doomed,
            "updating the include",
            excluding=current.nodes.values(),
        )


def _check_added_tags_free(
    context: WorkspaceContext, current: CurrentInclude, added: list[str]
) -> None:
    """ConflictError, before anything is staged, when a node the bundle now brings would be
    tagged like a node the pipeline already shows (one the user made, or a reference): an
    include refuses such a namespace; an update would have made two nodes of one tag."""
    with context.store.read() as session:
        taken = session.shown_tagged(current.pipeline.id, added)
    if taken:
        named = ", ".join(f"{tag} ({node_id})" for node_id, tag in taken)
        raise ConflictError(
            f"the bundle of include {current.top.namespace!r} now has nodes that would be "
            f"tagged like nodes pipeline {current.pipeline.tag!r} already has: {named}; "
            "nothing was changed. Rename those nodes of the pipeline, then update again"
        )


def _linked_libs(context: WorkspaceContext, current: CurrentInclude) -> set[str]:
    """The libs the include's nodes link before the update: removed after it (also by the
    recovery of a killed update) if nothing links them then."""
    return {
        link.lib_id
        for node_id in current.nodes.values()
        for link in read_links(context.layout.node_folder(node_id))
    }


def _libs(
    context: WorkspaceContext,
    batch: FolderBatch,
    current: CurrentInclude,
    common: list[ResolvedNode],
) -> tuple[dict[LibKey, str], set[LibKey], dict[str, LibEdit]]:
    """The lib of each bundle's py-dir: kept when its files did not change, else staged new
    (its key in the second value: those nodes get relinked). The third: the libs replaced
    that differ from what the include installed in them (or that nothing recorded), by id."""
    libs: dict[LibKey, str] = {}
    relink: set[LibKey] = set()
    edits: dict[str, LibEdit] = {}
    state = context.layout.state_dir
    for node in common:
        key = lib_key(node)
        if key is None or key in libs or node.py_dir is None:
            continue
        folder = context.layout.node_folder(current.nodes[node.name])
        old = next((x for x in read_links(folder) if x.name == node.py_dir), None)
        lib_id = new_id()
        staged = batch.add_lib(lib_id)
        copy_lib(node.files, node.py_dir, staged)
        if old is not None and _digests(old.path) == _digests(staged):
            if read_lib_record(state, old.lib_id) is None:
                write_lib_record(state, old.lib_id, old.path)
            batch.discard_lib(lib_id)
            libs[key] = old.lib_id
            continue
        libs[key] = lib_id
        relink.add(key)
        write_lib_record(state, lib_id, staged)
        if old is not None and old.path.is_dir():
            installed, now = read_lib_record(state, old.lib_id), lib_record(old.path)
            if installed != now:
                files = edited_files(installed, now) if installed is not None else []
                edits[old.lib_id] = LibEdit(old.path, installed is not None, tuple(files))
    return libs, relink, edits


@dataclass(frozen=True, slots=True)
class LibEdit:
    """A lib (``libs/<id>/``) an update replaces that was edited here, or never recorded."""

    path: Path
    edited: bool
    files: tuple[str, ...]


def _keep_libs(
    context: WorkspaceContext,
    batch: FolderBatch,
    current: CurrentInclude,
    edits: Mapping[str, LibEdit],
) -> tuple[KeptCode, ...]:
    """Copy each lib of ``edits`` to the workspace's ``.nodepipe/undone-edits/`` before the
    update unlinks (and removes) it."""
    scratch = batch.operation.folder / "kept"
    state = context.layout.state_dir
    namespace = current.top.namespace
    return tuple(
        KeptCode(
            f"libs/{lib_id}",
            keep_lib(edit.path, f"include-{namespace}.lib-{lib_id}", state, scratch),
            edit.edited,
            dropped=True,
        )
        for lib_id, edit in sorted(edits.items())
    )


def _stage_changed_code(
    context: WorkspaceContext,
    batch: FolderBatch,
    current: CurrentInclude,
    common: list[ResolvedNode],
) -> tuple[dict[str, Path], dict[str, str]]:
    """Stage the bundle's code of every common node; keep those that differ from the node's.

    Also returns the records (``included_code``) to write once the update is committed: for
    each changed node, and for each unchanged one that has none yet."""
    changed: dict[str, Path] = {}
    records: dict[str, str] = {}
    for node in common:
        node_id = current.nodes[node.name]
        staged = NodeFolder(batch.operation.folder / "incoming" / node_id)
        copy_node(node, staged, with_data=False)
        folder = context.layout.node_folder(node_id)
        if own_code(staged) != own_code(folder):
            changed[node.name] = staged.code
            records[node.name] = record_text(code_record(staged))
        elif read_record(folder) is None:
            records[node.name] = record_text(code_record(staged))
    return changed, records


def _check_edits(
    context: WorkspaceContext,
    current: CurrentInclude,
    changed: Mapping[str, Path],
    removed: list[str],
    libs: Mapping[str, LibEdit],
    replace_edits: bool,
) -> tuple[dict[str, bool], dict[str, bool]]:
    """The changed nodes whose code is copied before it is replaced, and the removed ones whose
    code is copied before they are deleted: name → edited (True) or never recorded (False).
    EditedNodesError, before anything changed, when nodes were edited (or, for removed ones,
    never recorded) and ``replace_edits`` is not given."""
    to_keep: dict[str, bool] = {}
    dropped: dict[str, bool] = {}
    edits: dict[str, str] = {}
    for name in [*changed, *removed]:
        gone = name not in changed
        folder = context.layout.node_folder(current.nodes[name])
        installed = read_record(folder)
        now = code_record(folder)
        if installed is not None and installed == now:
            continue
        (dropped if gone else to_keep)[name] = installed is not None
        files = ", ".join(edited_files(installed, now)) if installed is not None else ""
        if gone:
            why = f"edited: {files or 'its code'}" if installed else "its edits cannot be told"
            edits[name] = f"dropped by the bundle, {why}"
        elif installed is not None:
            edits[name] = files or "its code"
    for lib_id, lib in libs.items():
        if lib.edited:
            edits[f"libs/{lib_id}"] = f"bundle code, edited: {', '.join(lib.files)}"
    if edits and not replace_edits:
        named = "; ".join(f"{name} ({files})" for name, files in sorted(edits.items()))
        raise EditedNodesError(
            f"nodes of include {current.top.namespace!r} were edited here since it installed "
            f"them, and the update would replace or delete their code: {named}; nothing was "
            "changed. Keep the edits elsewhere first, or replace them (each node's code is then "
            "kept in its undone-edits/ folder first; a deleted node's in the workspace's "
            ".nodepipe/undone-edits/)",
            tuple(sorted(edits)),
        )
    return to_keep, dropped


def _keep_code(
    context: WorkspaceContext,
    batch: FolderBatch,
    current: CurrentInclude,
    to_keep: Mapping[str, bool],
    dropped: Mapping[str, bool],
) -> tuple[KeptCode, ...]:
    """Copy the code of each node in ``to_keep`` and ``dropped``, whole, before anything is
    replaced or deleted."""
    scratch = batch.operation.folder / "kept"
    replaced = [
        KeptCode(
            name,
            keep_code(
                context.layout.node_folder(current.nodes[name]), current.top.namespace, scratch
            ),
            edited,
        )
        for name, edited in sorted(to_keep.items())
    ]
    state = context.layout.state_dir
    deleted = [
        KeptCode(
            name,
            keep_dropped_code(
                context.layout.node_folder(current.nodes[name]), name, state, scratch
            ),
            edited,
            dropped=True,
        )
        for name, edited in sorted(dropped.items())
    ]
    return (*replaced, *deleted)


def _digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(is_skipped(p) for p in path.relative_to(root).parts)
    }


def _write_rows(
    session: StoreSession,
    batch: FolderBatch,
    current: CurrentInclude,
    resolved: ResolvedPipeline,
    top: ResolvedInclude,
    plan: NodesToCreate,
    feeding: list[EdgeEntry],
    removed: list[str],
    when: datetime,
) -> tuple[list[str], tuple[str, ...]]:
    """The rows of the update, in the caller's transaction; returns node ids to delete, and
    the edges into the include's nodes removed and not made again (``parent → child
    (slot)``)."""
    pipeline = current.pipeline
    ids = {**current.nodes, **plan.ids}
    doomed = [n for n in session.get_nodes([current.nodes[name] for name in removed]).values()]
    report = remove_from_pipeline(session, pipeline, doomed)
    batch.operation.record(deleting=list(report.deleted))
    below = max((m.y for m in session.memberships_of_pipeline(pipeline.id)), default=0.0)
    insert_nodes(session, plan, pipeline.id, {}, top=below + 120.0)
    staying = {ids[name] for name in ids if name not in removed}
    input_slots = {*current.top.inputs, *top.entry.inputs}  # fed before, and from now on
    dropped: list[Edge] = []
    for edge in session.edges_into(staying):
        if edge.parent_id in staying or edge.slot in input_slots:
            session.delete_edge(edge.parent_id, edge.child_id)
            dropped.append(edge)
    made = [Edge(ids[e.parent], ids[e.child], e.slot) for e in resolved.edges]
    made += feeding_edges(session, pipeline, feeding, ids)
    for edge in made:
        session.insert_edge(edge)
    for node in resolved.nodes:
        if node.name in current.nodes:
            session.update_node(ids[node.name], notes=node.entry.notes)
    _rewrite_include_rows(session, current, resolved, top, ids, when)
    return list(report.deleted), _disconnected(session, dropped, made)


def _disconnected(session: StoreSession, dropped: list[Edge], made: list[Edge]) -> tuple[str, ...]:
    """The edges of ``dropped`` that ``made`` does not make again, as ``parent → child (slot)``."""
    again = {(e.parent_id, e.child_id, e.slot) for e in made}
    gone = [e for e in dropped if (e.parent_id, e.child_id, e.slot) not in again]
    tags = {
        node_id: node.tag
        for node_id, node in session.get_nodes(
            {x for e in gone for x in (e.parent_id, e.child_id)}
        ).items()
    }
    return tuple(sorted(f"{tags[e.parent_id]} → {tags[e.child_id]} ({e.slot})" for e in gone))


def _rewrite_include_rows(
    session: StoreSession,
    current: CurrentInclude,
    resolved: ResolvedPipeline,
    top: ResolvedInclude,
    ids: Mapping[str, str],
    when: datetime,
) -> None:
    for row in current.rows:
        if row.id != current.top.id:
            session.delete_include(row.id)
    session.delete_include_members(current.top.id, list(current.nodes.values()))
    for include in resolved.includes:
        if include.namespace == current.top.namespace:
            row = replace(
                current.top,
                location=top.location.uri,
                loader=top.location.loader,
                content_hash=top.content_hash,
                updated_at=when,
                inputs=feeders_by_id(session, current.pipeline, top.entry.inputs),
            )
            session.update_include(row)
        else:
            row = include_row(current.pipeline.id, include.namespace, include, when)
            session.insert_include(row)
        session.insert_include_members(
            IncludeMember(row.id, ids[n.name], n.entry.key)
            for n in resolved.nodes
            if n.namespace == include.namespace
        )
