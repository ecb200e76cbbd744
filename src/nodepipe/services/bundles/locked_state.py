"""A bundle imported with its data: which nodes are completed, by its ``pipeline.lock``.

A node is completed when its data was copied, every parent is completed, its fingerprint now
(with its parents' outputs as the lock records them) is the one the lock records, and its data
hashes to the output digest the lock records. Anything else is ready (never ran here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from nodepipe.bundles.lockfile import LockRecord
from nodepipe.bundles.model import ResolvedPipeline
from nodepipe.domain.errors import NodepipeError
from nodepipe.domain.graph import topological_order
from nodepipe.domain.model import Edge
from nodepipe.domain.staleness import ParentOutput
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.fingerprint import fingerprint_node
from nodepipe.workspace.node_config import read_node_config


@dataclass(frozen=True, slots=True)
class Completed:
    """A node found completed: its fingerprint (stored JSON) and output digest."""

    fingerprint: str
    output_digest: str


def completed_nodes(
    context: WorkspaceContext,
    resolved: ResolvedPipeline,
    ids: Mapping[str, str],
    with_data: set[str],
    locked: Mapping[str, LockRecord],
) -> dict[str, Completed]:
    """The nodes (by name) whose copied data the lock vouches for."""
    edges = [Edge(ids[e.parent], ids[e.child], e.slot) for e in resolved.edges]
    names = {node_id: name for name, node_id in ids.items()}
    found: dict[str, Completed] = {}
    for node_id in topological_order(list(ids.values()), edges):
        name = names[node_id]
        record = locked.get(name)
        if name not in with_data or record is None or not record.output_digest:
            continue
        inputs = [e for e in edges if e.child_id == node_id]
        parents = {e.slot: found.get(names[e.parent_id]) for e in inputs}
        if any(parent is None for parent in parents.values()):
            continue
        outputs = {
            e.slot: ParentOutput(e.parent_id, found[names[e.parent_id]].output_digest)
            for e in inputs
        }
        completed = _check(context, node_id, outputs, record)
        if completed is not None:
            found[name] = completed
    return found


def _check(
    context: WorkspaceContext,
    node_id: str,
    parents: Mapping[str, ParentOutput],
    record: LockRecord,
) -> Completed | None:
    folder = context.layout.node_folder(node_id)
    try:
        config = read_node_config(folder.pyproject)
        entry = " ".join(config.command) if config.command else config.entry
        current = fingerprint_node(folder, parents, entry, folder.fingerprint_cache)
    except NodepipeError:
        return None
    if current.digest != record.fingerprint:
        return None
    outputs = fingerprint_outputs(folder.data, folder.fingerprint_cache)
    if outputs != record.output_digest:
        return None
    return Completed(json.dumps(current.to_dict()), outputs)
