"""What state each node of a pipeline is really in, and why: fingerprints against the store.

A completed node whose fingerprint changed is stale with the reasons ("code changed: main.py");
a node below a stale or never-run node is stale because of it ("parent 01 (clean) is stale").
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from nodepipe.domain.graph import topological_order
from nodepipe.domain.model import PipelineNode, PipelineView
from nodepipe.domain.staleness import NodeFingerprint, ParentOutput, explain
from nodepipe.domain.states import NodeState
from nodepipe.services.context import WorkspaceContext
from nodepipe.store.queries import StoreSession
from nodepipe.workspace.fingerprint import fingerprint_node
from nodepipe.workspace.node_config import NodeConfig, read_node_config


@dataclass(frozen=True, slots=True)
class NodeStatusView:
    """A node of a pipeline with its effective state and every reason for it."""

    item: PipelineNode
    state: NodeState
    reasons: tuple[str, ...]
    own_reasons: tuple[str, ...]
    fingerprint: NodeFingerprint
    config: NodeConfig
    output_digest: str | None
    """Digest of the outputs of the node's last successful run (what its children read)."""

    @property
    def node_id(self) -> str:
        return self.item.node.id


def compute_statuses(
    context: WorkspaceContext, session: StoreSession, view: PipelineView
) -> dict[str, NodeStatusView]:
    """Effective states of every node of ``view``, parents before children."""
    ids = view.node_ids
    stored = session.node_fingerprints(ids)
    tags = {item.node.id: item.node.tag for item in view.nodes}
    result: dict[str, NodeStatusView] = {}
    for node_id in topological_order(ids, view.edges):
        item = view.node(node_id)
        folder = context.layout.node_folder(node_id)
        config = read_node_config(folder.pyproject)
        parents = {
            e.slot: ParentOutput(e.parent_id, stored.get(e.parent_id, (None, None))[1] or "")
            for e in view.inputs(node_id)
        }
        entry = " ".join(config.command) if config.command else config.entry
        current = fingerprint_node(folder, parents, entry, folder.fingerprint_cache)
        previous_json = stored.get(node_id, (None, None))[0]
        own = _own_reasons(item, current, previous_json, tags)
        upstream = [
            f"parent {e.slot} ({tags[e.parent_id]}) {_parent_problem(result[e.parent_id])}"
            for e in view.inputs(node_id)
            if _parent_problem(result[e.parent_id])
        ]
        state = _effective_state(item.node.state, own, upstream)
        reasons = tuple(dict.fromkeys([*own, *upstream]))
        result[node_id] = NodeStatusView(
            item, state, reasons, tuple(own), current, config, stored.get(node_id, (None, None))[1]
        )
    return result


def _own_reasons(
    item: PipelineNode, current: NodeFingerprint, previous_json: str | None, tags: dict[str, str]
) -> list[str]:
    node = item.node
    if node.state is NodeState.READY:
        return ["never ran"]
    if node.state in (NodeState.QUEUED, NodeState.RUNNING):
        return []
    previous = _stored_fingerprint(previous_json) if previous_json else None
    computed = (
        []
        if previous is None and node.state is not NodeState.COMPLETED
        else explain(previous, current, tags)
    )
    if node.state in (NodeState.FAILED, NodeState.CANCELLED, NodeState.STALE):
        return [node.state_reason or node.state.value, *computed]
    return computed


@functools.lru_cache(maxsize=4096)
def _stored_fingerprint(text: str) -> NodeFingerprint | dict[str, Any]:
    """A stored fingerprint read back once per text (as it was stored, if it is of another
    format: ``explain`` says so)."""
    data = json.loads(text)
    try:
        return NodeFingerprint.from_dict(data)
    except ValueError:
        return dict(data)


def _parent_problem(parent: NodeStatusView) -> str | None:
    if parent.state is NodeState.COMPLETED:
        return None
    if parent.state is NodeState.READY:
        return "never ran"
    return f"is {parent.state.value}"


def _effective_state(stored: NodeState, own: list[str], upstream: list[str]) -> NodeState:
    if stored is NodeState.COMPLETED and (own or upstream):
        return NodeState.STALE
    return stored
