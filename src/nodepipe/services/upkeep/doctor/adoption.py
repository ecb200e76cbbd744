"""Giving node folders their rows back: each folder becomes a node again, in the pipeline
``recovered`` of the project ``recovered``.

A node keeps its id, its code, parameters and outputs (they live in the folder). Its tag and
its parents (with their slots) come from ``logs/context.json``, which every run rewrites; a node
that never ran is tagged with its id and has no parents. A parent is connected again only if it
still exists, its slot is free and the edge makes no cycle; otherwise the report says why not.

What made the outputs is not known any more, so a node with outputs comes back ``stale`` with
that reason (``nodepipe node mark NODE completed`` accepts them: its fingerprint is recorded
as of now), and one without outputs ``ready``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodepipe.domain.errors import InvalidInputError, NodepipeError
from nodepipe.domain.graph import cycle_if_connected
from nodepipe.domain.ids import looks_like_id, new_id
from nodepipe.domain.model import Edge, Node, Pipeline, Project
from nodepipe.domain.names import validate_name, validate_slot
from nodepipe.domain.staleness import RECOVERED_REASON
from nodepipe.domain.states import NodeState
from nodepipe.execution.run_files import CONTEXT_FILE
from nodepipe.services.context import WorkspaceContext, now
from nodepipe.services.graph.fingerprint_now import fingerprint_now
from nodepipe.services.graph.membership import show_with_ancestors
from nodepipe.services.graph.pipelines import insert_pipeline
from nodepipe.services.upkeep.doctor.survey import Progress, no_progress
from nodepipe.store.changes import NodeChanges
from nodepipe.store.queries import StoreSession
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.node_folder import NodeFolder
from nodepipe.workspace.output_swap import settle_leftovers
from nodepipe.workspace.rebuild_mark import clear_rebuild_mark

RECOVERED = "recovered"
RECOVERED_NOTES = "nodes recovered from their folders by `nodepipe doctor`"


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a node folder remembers of its node: tag and parents (slot, parent id)."""

    tag: str | None
    parents: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Adoption:
    pipeline: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    not_connected: tuple[str, ...]
    """Why a parent a folder remembers was not connected again."""


def read_recorded(folder: Path) -> Recorded:
    """The tag and parents in ``logs/context.json`` (nothing if it is missing or unreadable)."""
    try:
        data = json.loads((folder / "logs" / CONTEXT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Recorded(None, ())
    if not isinstance(data, dict):
        return Recorded(None, ())
    node = data.get("node")
    tag = node.get("tag") if isinstance(node, dict) else None
    parents = data.get("parents")
    found = [_parent(entry) for entry in parents] if isinstance(parents, list) else []
    return Recorded(
        tag if isinstance(tag, str) and _is_name(tag) else None,
        tuple(parent for parent in found if parent is not None),
    )


def _is_name(tag: str) -> bool:
    try:
        validate_name(tag, "node tag")
    except InvalidInputError:
        return False
    return True


def _parent(entry: Any) -> tuple[str, str] | None:
    """(slot, parent id) of one recorded parent, None if it is not well formed."""
    if not isinstance(entry, dict):
        return None
    slot, parent_id = entry.get("slot"), entry.get("id")
    if not isinstance(slot, str) or not isinstance(parent_id, str) or not looks_like_id(parent_id):
        return None
    try:
        return (validate_slot(slot), parent_id)
    except InvalidInputError:
        return None


def describe_folder(folder: Path) -> str:
    """``node 'clean' (parents: 01 ← ab12cd34), with outputs`` for a report."""
    recorded = read_recorded(folder)
    name = repr(recorded.tag) if recorded.tag else "never ran, tag unknown"
    parents = ", ".join(f"{slot} ← {parent}" for slot, parent in recorded.parents)
    has_outputs = NodeFolder.at(folder).has_data()
    return (
        f"node {name}"
        + (f" (parents: {parents})" if parents else "")
        + (", with outputs" if has_outputs else "")
    )


def adopt(
    context: WorkspaceContext, node_ids: Collection[str], progress: Progress = no_progress
) -> Adoption:
    """Make each folder of ``node_ids`` a node of the pipeline ``recovered`` (those that got a
    row meanwhile are left as they are)."""
    recorded: dict[str, Recorded] = {}
    for index, node_id in enumerate(sorted(node_ids), 1):
        progress(f"reading node folder {node_id} ({index}/{len(node_ids)})")
        folder = context.layout.node_folder(node_id)
        settle_leftovers(folder)
        recorded[node_id] = read_recorded(folder.path)
    with context.store.write() as session:
        pipeline = _recovered_pipeline(session)
        taken = session.get_nodes(list(recorded))
        adopted = [node_id for node_id in recorded if node_id not in taken]
        nodes = [_insert_node(session, node_id, recorded[node_id], pipeline) for node_id in adopted]
        edges, not_connected = _connect(session, adopted, recorded)
        show_with_ancestors(session, pipeline.id, adopted)
        progress("recording what the outputs are")
        _record_outputs(context, session, adopted)
        nodes = list(session.get_nodes(adopted).values())
        crash_point("adoption.recorded")  # before the commit
    clear_rebuild_mark(context.layout)  # the store holds the folders: a rebuild is done
    return Adoption(pipeline.tag, tuple(nodes), tuple(edges), tuple(not_connected))


def _recovered_pipeline(session: StoreSession) -> Pipeline:
    found = next((p for p in session.list_pipelines() if p.tag == RECOVERED), None)
    if found is not None:
        return found
    if not any(project.name == RECOVERED for project in session.list_projects()):
        session.insert_project(Project(new_id(), RECOVERED, RECOVERED_NOTES, now()))
    return insert_pipeline(session, RECOVERED, RECOVERED, RECOVERED_NOTES)


def _insert_node(
    session: StoreSession, node_id: str, recorded: Recorded, pipeline: Pipeline
) -> Node:
    node = Node(
        node_id, recorded.tag or node_id, "", NodeState.READY, "", False, pipeline.id, now()
    )
    session.insert_node(node)
    return node


def _connect(
    session: StoreSession, adopted: list[str], recorded: dict[str, Recorded]
) -> tuple[list[Edge], list[str]]:
    edges = session.all_edges()
    wanted = {parent for child in adopted for _, parent in recorded[child].parents}
    existing = set(session.get_nodes(wanted))
    added: list[Edge] = []
    refused: list[str] = []
    for child in adopted:
        used: set[str] = set()
        for slot, parent in recorded[child].parents:
            why = _why_not(parent, child, slot, existing, used, edges)
            if why is not None:
                refused.append(f"{parent} → {child} (slot {slot}): {why}")
                continue
            edge = Edge(parent, child, slot)
            session.insert_edge(edge)
            edges.append(edge)
            added.append(edge)
            used.add(slot)
    return added, refused


def _why_not(
    parent: str, child: str, slot: str, existing: set[str], used: set[str], edges: list[Edge]
) -> str | None:
    if parent not in existing:
        return "the parent no longer exists"
    if slot in used:
        return "the slot is taken"
    if cycle_if_connected(parent, child, edges) is not None:
        return "it would make a cycle"
    return None


def _record_outputs(context: WorkspaceContext, session: StoreSession, adopted: list[str]) -> None:
    """Digest of each adopted node's outputs, its fingerprint as of now, and its state."""
    with_outputs = set()
    for node_id in adopted:
        folder = context.layout.node_folder(node_id)
        if folder.has_data():
            session.update_node(node_id, output_digest=fingerprint_outputs(folder.data))
            with_outputs.add(node_id)
    for node_id in adopted:
        changes: NodeChanges = {"fingerprint": _fingerprint(context, session, node_id)}
        if node_id in with_outputs:
            changes["state"] = NodeState.STALE
            changes["state_reason"] = RECOVERED_REASON
        session.update_node(node_id, **changes)


def _fingerprint(context: WorkspaceContext, session: StoreSession, node_id: str) -> str | None:
    """The node's fingerprint now, given its parents' recorded outputs; None if its folder
    cannot be fingerprinted (a malformed pyproject or params.yaml)."""
    try:
        return fingerprint_now(context, session, node_id)
    except NodepipeError:
        return None
