"""Creating nodes from a resolved bundle: folders staged, libs linked, rows written at once.

Used by import (a new pipeline) and by include and update (nodes added to an existing one).
Node folders and bundle code are built in a journaled ``FolderBatch`` (``staged_folders``):
until the rows commit, a failure or a killed process leaves no folder, no lib, no row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from nodepipe.bundles.errors import refuse_all
from nodepipe.bundles.model import BundleFiles, ResolvedInclude, ResolvedNode, ResolvedPipeline
from nodepipe.domain.bundles import IncludeMember, PipelineInclude
from nodepipe.domain.errors import Action, EnvironmentBuildError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Group, Membership, Node
from nodepipe.domain.states import NodeState
from nodepipe.services.bundles.import_checks import bundle_siblings, staged_problems
from nodepipe.services.bundles.included_code import (
    code_record,
    record_text,
    write_lib_record,
    write_record,
)
from nodepipe.services.bundles.node_files import copy_lib, copy_node
from nodepipe.services.context import now
from nodepipe.services.graph.membership import COLUMN_WIDTH, ROW_HEIGHT
from nodepipe.services.graph.staged_folders import FolderBatch
from nodepipe.workspace.bundle_libs import write_links
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.external_code import relink_libraries
from nodepipe.workspace.node_folder import NodeFolder

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession

SyncProgress = Callable[[str, int], None]
"""Told the name of each node whose environment is synced, and how many there are."""


@dataclass
class NodesToCreate:
    """The nodes of a resolved bundle to create, by qualified name, with their new ids."""

    nodes: tuple[ResolvedNode, ...]
    ids: dict[str, str] = field(default_factory=dict)
    with_data: set[str] = field(default_factory=set)
    """Names of the nodes whose data was copied."""

    def __post_init__(self) -> None:
        self.ids = {node.name: new_id() for node in self.nodes}


LibKey = tuple[str, str]
"""A bundle's location and its py-dir: one lib in the workspace."""


def lib_key(node: ResolvedNode) -> LibKey | None:
    return None if node.py_dir is None else (str(node.files.location), node.py_dir)


def stage_nodes(
    batch: FolderBatch,
    plan: NodesToCreate,
    with_data: bool,
    libs: dict[LibKey, str] | None = None,
    root: BundleFiles | None = None,
) -> None:
    """Stage every node's folder, linked to the lib of its bundle's py-dir: one of ``libs``
    (existing ones), else one staged here once per bundle and py-dir."""
    libs = {} if libs is None else libs
    for node in plan.nodes:
        folder = batch.staged_folder(plan.ids[node.name])
        if copy_node(node, folder, with_data, root):
            plan.with_data.add(node.name)
        siblings = bundle_siblings(node.name, plan.ids)
        relink_libraries(folder.code, siblings)
        refuse_all(staged_problems(node.name, folder.code, siblings, batch.operation.folder))
        key = lib_key(node)
        if key is not None and node.py_dir is not None:
            if key not in libs:
                libs[key] = new_id()
                staged_lib = batch.add_lib(libs[key])
                copy_lib(node.files, node.py_dir, staged_lib)
                write_lib_record(batch.context.layout.state_dir, libs[key], staged_lib)
            write_links(folder, {node.py_dir: libs[key]})
        if node.namespace:  # an include's node: what it installed, for its updates
            write_record(folder, record_text(code_record(folder)), durable=False)
        crash_point("bundle.staged-one")


def install(
    batch: FolderBatch, plan: NodesToCreate, jobs: int, on_synced: SyncProgress | None
) -> None:
    """Move the staged folders in place and sync their environments, ``jobs`` at a time."""
    names = {node_id: name for name, node_id in plan.ids.items()}

    def told(folder: NodeFolder) -> None:
        if on_synced is not None:
            on_synced(names.get(folder.path.name, folder.path.name), len(names))

    try:
        batch.install(jobs=jobs, on_synced=told)
    except EnvironmentBuildError as error:
        if error.hint is None or error.hint.action is not Action.ENV_LOCK:
            raise
        raise _for_the_importer(error) from error


def _for_the_importer(error: EnvironmentBuildError) -> EnvironmentBuildError:
    """``error`` (a lock naming a file its index no longer has) as the importer of a bundle
    can act on it: the lock is the bundle's to fix (the node it would relock is not kept: the
    import is undone), so its hint to relock becomes who must relock, and export again."""
    return type(error)(
        f"{error}\nthe bundle's author must relock that node from what the index holds now "
        "and export the bundle again",
        detail=error.detail,
    )


def node_rows(plan: NodesToCreate, pipeline_id: str, states: Mapping[str, NodeState]) -> list[Node]:
    created = now()
    return [
        Node(
            id=plan.ids[node.name],
            tag=node.name,
            notes=node.entry.notes,
            state=states.get(node.name, NodeState.READY),
            state_reason="",
            locked=False,
            owner_pipeline_id=pipeline_id,
            created_at=created,
        )
        for node in plan.nodes
    ]


def default_positions(
    nodes: Sequence[ResolvedNode], top: float = 0.0
) -> dict[str, tuple[float, float]]:
    """Where nodes without a position go: a grid below ``top``, in the bundle's order."""
    return {
        node.name: (COLUMN_WIDTH * (index % 4), top + ROW_HEIGHT * (index // 4))
        for index, node in enumerate(nodes)
    }


def group_of(node: ResolvedNode) -> str | None:
    """An included node's group is its include's namespace; a top node keeps its own."""
    return node.namespace or node.entry.group


def insert_nodes(
    session: StoreSession,
    plan: NodesToCreate,
    pipeline_id: str,
    states: Mapping[str, NodeState],
    top: float = 0.0,
) -> None:
    """Write the nodes, their memberships (positions, groups, made as needed)."""
    groups = {g.name: g.id for g in session.groups_of_pipeline(pipeline_id)}
    fallback = default_positions([n for n in plan.nodes if n.entry.position is None], top)
    for node, row in zip(plan.nodes, node_rows(plan, pipeline_id, states), strict=True):
        session.insert_node(row)
        name = group_of(node)
        if name is not None and name not in groups:
            groups[name] = new_id()
            session.insert_group(Group(groups[name], pipeline_id, name, collapsed=False))
        x, y = node.entry.position or fallback[node.name]
        group_id = groups[name] if name is not None else None
        session.insert_membership(Membership(pipeline_id, row.id, x, y, group_id))


def insert_edges(session: StoreSession, edges: Iterable[Edge]) -> None:
    for edge in edges:
        session.insert_edge(edge)


def include_row(
    pipeline_id: str, namespace: str, include: ResolvedInclude, when: datetime
) -> PipelineInclude:
    """The row recording ``include`` under ``namespace`` (qualified) in a pipeline."""
    return PipelineInclude(
        id=new_id(),
        pipeline_id=pipeline_id,
        namespace=namespace,
        source=include.entry.source,
        loader=include.location.loader,
        location=include.location.uri,
        content_hash=include.content_hash,
        updated_at=when,
        inputs=dict(include.entry.inputs),
        params=dict(include.entry.params),
    )


def insert_includes(
    session: StoreSession,
    pipeline_id: str,
    resolved: ResolvedPipeline,
    plan: NodesToCreate,
    prefix: str = "",
) -> None:
    """Record each include of ``resolved`` and the nodes that came from it.

    ``prefix`` qualifies the namespaces when ``resolved`` is itself included (``NS.``).
    """
    when = now()
    for include in resolved.includes:
        namespace = prefix + include.namespace
        qualified = [n for n in plan.nodes if n.namespace == namespace]
        row = include_row(pipeline_id, namespace, include, when)
        if "." not in namespace:  # fed by nodes of the pipeline: recorded by id
            row = replace(row, inputs={k: plan.ids.get(v, v) for k, v in row.inputs.items()})
        session.insert_include(row)
        session.insert_include_members(
            IncludeMember(row.id, plan.ids[n.name], n.entry.key) for n in qualified
        )
