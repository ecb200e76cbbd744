"""A pipeline's effective view built again from the last one: only what a change reaches.

The web app keeps each pipeline's last answer (``live.pipeline_answers``). After a change (a
file saved in a node folder, a run, an edit from any process) building the whole view again
costs about half a second of CPU at 10,000 nodes; this module recomputes only:

- the nodes the watcher told changed since the last view (``FolderMemo.changed_since``);
- the nodes whose row, membership, stored fingerprint or inputs (edges) differ from the last
  view's (every row is read again and compared: the store's reads are the same on SQLite and
  PostgreSQL, whoever wrote, and there is no counter any writer could forget to bump);
- the children of a node whose tag or stored output digest changed, or that was added;
- the nodes checked again at every view anyway: a check the memo does not keep (files outside
  ``code/``, a failed check) and a node whose reasons name a node that is not its parent now;
- then, parents before children, the children of each recomputed node whose state as a parent
  (``parent_problem``) changed.

What the checks learn is written to the cross-process check cache by whole builds only (it
is rewritten whole: for one node, that costs more than the rest of the view). Everything else
keeps its status and its effective item (the same object: the JSON writer
keeps its bytes, ``schemas.graph_json``). The last view is not used (everything is built again,
as ``effective_view`` does) when: there is none, it was of another pipeline, it or this view did
not catch up with the watcher, the watcher was armed or disarmed since, or the oldest check it
relies on is older than ``TRUST_SECONDS``. ``tests/integration/test_view_updates.py`` asserts
that the answer equals a whole build after every kind of change.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodepipe.domain.graph import topological_order
from nodepipe.domain.model import Edge, Pipeline, PipelineView
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.effective import effective_item, pipeline_view
from nodepipe.services.runs.status import NodeStatusView, StatusPass, parent_problem

if TYPE_CHECKING:
    from nodepipe.store.light_read import LightReads

Stored = dict[str, tuple[str | None, str | None]]


@dataclass(frozen=True, slots=True)
class KeptView:
    """A pipeline's effective view and what it was computed from (never changed once made)."""

    view: PipelineView
    """The effective view (what the answer shows)."""
    base: PipelineView
    """The view as the store has it (stored states)."""
    stored: Stored
    statuses: dict[str, NodeStatusView]
    as_parent: dict[str, str | None]
    order: dict[str, int]
    """Each node's place in a topological order."""
    children: dict[str, tuple[str, ...]]
    generation: int | None
    """The memo's generation when it was computed (None: the next view computes everything)."""
    until: float
    """``time.monotonic()`` after which a check it relies on is no longer trusted."""
    recheck: frozenset[str]
    """Nodes computed again at every view."""
    recomputed: int
    """How many nodes this view computed (every node for a whole build)."""


def updated_view(
    context: WorkspaceContext,
    session: LightReads,
    pipeline: Pipeline,
    caught_up: bool,
    last: KeptView | None,
) -> KeptView:
    """The effective view of ``pipeline``: from ``last`` when it may be used, else whole."""
    memo = context.folder_memo
    generation = memo.generation
    told = memo.changed_since(last.generation) if last and last.generation is not None else None
    base = pipeline_view(session, pipeline)
    ids = base.node_ids
    stored = session.node_fingerprints(ids)
    if (
        last is None
        or told is None
        or not caught_up
        or last.base.pipeline.id != pipeline.id
        or time.monotonic() >= last.until
    ):
        return _whole(context, session, base, stored, caught_up, generation)
    return _update(context, session, base, ids, stored, last, told, generation)


def _whole(
    context: WorkspaceContext,
    session: LightReads,
    base: PipelineView,
    stored: Stored,
    caught_up: bool,
    generation: int,
) -> KeptView:
    order = topological_order(base.node_ids, base.edges)
    checking = StatusPass(context, session, base, stored, caught_up)
    statuses = {node_id: checking.status(node_id) for node_id in order}
    checking.finish()
    view = base.with_nodes(tuple(effective_item(i, statuses.get(i.node.id)) for i in base.nodes))
    vouched = context.folder_memo.vouching(base.node_ids, generation) if caught_up else None
    until, unkept = vouched if vouched is not None else (0.0, frozenset[str]())
    return KeptView(
        view=view,
        base=base,
        stored=stored,
        statuses=statuses,
        as_parent=checking.as_parent,
        order={node_id: place for place, node_id in enumerate(order)},
        children=_children(base.edges),
        generation=generation if vouched is not None else None,
        until=until,
        recheck=unkept | checking.named_elsewhere,
        recomputed=len(statuses),
    )


def _update(
    context: WorkspaceContext,
    session: LightReads,
    base: PipelineView,
    ids: frozenset[str],
    stored: Stored,
    last: KeptView,
    told: frozenset[str],
    generation: int,
) -> KeptView:
    before = last.base
    dirty = set((told | last.recheck) & ids)
    touched: set[str] = set()  # parents whose children must be computed again
    nodes = []  # each node's value: the last view's when equal (the new one is let go at once)
    for item in base.nodes:
        node_id = item.node.id
        old = before.find(node_id)
        if old is not None and old == item:
            nodes.append(old)
            continue
        nodes.append(item)
        dirty.add(node_id)
        if old is None or old.node.tag != item.node.tag:
            touched.add(node_id)
    if stored == last.stored:
        stored = last.stored
    else:
        old_stored = last.stored
        for node_id, row in stored.items():
            old_row = old_stored.get(node_id)
            if old_row != row:
                dirty.add(node_id)
                if old_row is None or old_row[1] != row[1]:
                    touched.add(node_id)
    order, children = last.order, last.children
    added: set[Edge] = set()
    if base.edges == before.edges:  # the last view's edges and their index are kept
        base = base.with_nodes(tuple(nodes), before)
    else:  # the nodes whose inputs changed are computed again
        old_edges, new_edges = set(before.edges), set(base.edges)
        added, removed = new_edges - old_edges, old_edges - new_edges
        dirty.update(e.child_id for e in added | removed)
        children = _children(base.edges)
        base = base.with_nodes(tuple(nodes))
    if not ids <= order.keys() or any(order[e.parent_id] > order[e.child_id] for e in added):
        # the last order holds while no node is added and every added edge goes down it
        order = {i: place for place, i in enumerate(topological_order(ids, base.edges))}
    for parent in touched:
        dirty.update(children.get(parent, ()))
    dirty &= ids  # the children of removed edges may be gone too
    checking = StatusPass(context, session, base, stored, True, dict(last.as_parent))
    if last.statuses.keys() - ids:  # nodes removed
        statuses = {i: s for i, s in last.statuses.items() if i in ids}
    else:
        statuses = dict(last.statuses)
    waiting = [(order[i], i) for i in dirty]
    heapq.heapify(waiting)
    queued = set(dirty)
    while waiting:
        _, node_id = heapq.heappop(waiting)
        was = last.as_parent.get(node_id, _UNSEEN)
        statuses[node_id] = status = checking.status(node_id)
        if parent_problem(status) != was:
            for child in children.get(node_id, ()):
                if child not in queued:
                    queued.add(child)
                    heapq.heappush(waiting, (order[child], child))
    # not written to the cross-process check cache here: rewriting it whole for a node or two
    # costs more than the rest of this view; the next whole view (at least once a minute,
    # TRUST_SECONDS) writes what was learnt, and a CLI status checks those few nodes itself
    kept_items = last.view
    view = base.with_nodes(
        tuple(
            effective_item(item, statuses[node_id])
            if (node_id := item.node.id) in queued
            else kept_items.node(node_id)
            for item in base.nodes
        )
    )
    vouched = context.folder_memo.vouching(queued, generation)
    return KeptView(
        view=view,
        base=base,
        stored=stored,
        statuses=statuses,
        as_parent=checking.as_parent,
        order=order,
        children=children,
        generation=generation if vouched is not None else None,
        until=min(last.until, vouched[0]) if vouched is not None else 0.0,
        recheck=(last.recheck - queued)
        | (vouched[1] if vouched else frozenset())
        | checking.named_elsewhere,
        recomputed=len(queued),
    )


_UNSEEN = object()


def _children(edges: tuple[Edge, ...]) -> dict[str, tuple[str, ...]]:
    children: dict[str, list[str]] = {}
    for edge in edges:
        children.setdefault(edge.parent_id, []).append(edge.child_id)
    return {parent: tuple(found) for parent, found in children.items()}
