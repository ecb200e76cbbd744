"""Marking nodes stale when their inputs change, in every pipeline that shows them."""

from __future__ import annotations

from collections.abc import Iterable

from nodepipe.domain.graph import descendants
from nodepipe.domain.states import NodeState, becomes_stale_on_input_change
from nodepipe.store.light_edges import EdgeWrites
from nodepipe.store.light_write import RunWrites


def mark_inputs_changed(session: EdgeWrites, changed: dict[str, str]) -> list[str]:
    """``changed`` maps node ids to why their inputs changed; their descendants follow.

    Only nodes that have outputs become stale (a node that never ran stays ready). Returns the
    ids that became stale.
    """
    edges = session.edges_below(list(changed))
    reasons = dict(changed)
    for node_id, reason in changed.items():
        for descendant in descendants([node_id], edges):
            reasons.setdefault(descendant, f"upstream: {reason}")
    return _set_stale(session, reasons)


def mark_downstream(session: EdgeWrites, sources: Iterable[str], reason: str) -> list[str]:
    """Mark the descendants (not ``sources`` themselves) stale with ``reason``."""
    sources = list(sources)
    below = descendants(sources, session.edges_below(sources))
    return _set_stale(session, dict.fromkeys(below, reason))


def _set_stale(session: RunWrites, reasons: dict[str, str]) -> list[str]:
    current = session.get_nodes(reasons)
    stale = {
        node_id: reason
        for node_id, reason in reasons.items()
        if node_id in current and becomes_stale_on_input_change(current[node_id].state)
    }
    session.set_states(stale, NodeState.STALE)
    return sorted(stale)
