"""A node's fingerprint as of now: its folder, given its parents' recorded outputs.

This is what a status computes for the node, stored by hand instead of by a run: when its
outputs are accepted (``nodepipe node mark NODE completed``) and when doctor gives a folder its
row back. Then the computed status agrees with what was accepted until the node changes again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from nodepipe.domain.staleness import ParentOutput
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.fingerprint import fingerprint_node
from nodepipe.workspace.node_config import read_node_config

if TYPE_CHECKING:  # the SQL toolkit: not for the read commands that import the node service
    from nodepipe.store.queries import StoreSession


def fingerprint_now(context: WorkspaceContext, session: StoreSession, node_id: str) -> str:
    """The node's fingerprint (as stored: its JSON) from its folder and the output digests
    recorded for its parents; NodepipeError when the folder cannot be fingerprinted (a
    malformed pyproject.toml or params.yaml, a file that cannot be read)."""
    folder = context.layout.node_folder(node_id)
    inputs = session.edges_into([node_id])
    recorded = session.node_fingerprints([edge.parent_id for edge in inputs])
    parents = {
        edge.slot: ParentOutput(edge.parent_id, recorded.get(edge.parent_id, (None, None))[1] or "")
        for edge in inputs
    }
    config = read_node_config(folder.pyproject)
    entry = " ".join(config.command) if config.command else config.entry
    fingerprint = fingerprint_node(folder, parents, entry, folder.fingerprint_cache)
    return json.dumps(fingerprint.to_dict())
