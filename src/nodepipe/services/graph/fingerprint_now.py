"""A node's fingerprint as of now: its folder, given its parents' recorded outputs.

This is what a status computes for the node, stored by hand instead of by a run: when its
outputs are accepted (``nodepipe node mark NODE completed``) and when doctor gives a folder its
row back. Then the computed status agrees with what was accepted until the node changes again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nodepipe.domain.staleness import ParentOutput
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.fingerprint import fingerprint_node
from nodepipe.workspace.node_config import read_node_config

if TYPE_CHECKING:  # the SQL toolkit: not for the read commands that import the node service
    from nodepipe.store.queries import StoreSession


def recorded_inputs(session: StoreSession, node_id: str) -> dict[str, ParentOutput]:
    """The node's inputs by slot: each parent and the digest of its recorded outputs."""
    inputs = session.edges_into([node_id])
    recorded = session.node_fingerprints([edge.parent_id for edge in inputs])
    return {
        edge.slot: ParentOutput(edge.parent_id, recorded.get(edge.parent_id, (None, None))[1] or "")
        for edge in inputs
    }


def fingerprint_with(
    context: WorkspaceContext, node_id: str, parents: Mapping[str, ParentOutput]
) -> str:
    """The node's fingerprint (as stored: its JSON) from its folder and ``parents``; reads the
    folder only (no store). NodepipeError when it cannot be fingerprinted (a malformed
    pyproject.toml or params.yaml), OSError when a file cannot be read."""
    folder = context.layout.node_folder(node_id)
    config = read_node_config(folder.pyproject)
    entry = " ".join(config.command) if config.command else config.entry
    fingerprint = fingerprint_node(folder, parents, entry, folder.fingerprint_cache)
    return json.dumps(fingerprint.to_dict())


def fingerprint_now(context: WorkspaceContext, session: StoreSession, node_id: str) -> str:
    """``fingerprint_with`` the output digests recorded for the node's parents in ``session``."""
    return fingerprint_with(context, node_id, recorded_inputs(session, node_id))
