"""A pipeline's effective view built again from the last one: only what a change reaches.

The web app keeps each pipeline's last answer (``live.pipeline_answers``). After a change (a
file saved in a node folder, a run, an edit from any process) building the whole view again
costs about half a second of CPU at 10,000 nodes; this module recomputes only:

- the nodes the watcher told changed since the last view (``FolderMemo.changed_since``);
- the nodes whose row, membership, stored fingerprint or inputs (edges) differ from the last
  view's (every row is read again and compared: the store's reads are the same on SQLite and
  PostgreSQL, whoever wrote, and there is no counter any writer could forget to bump). The rows
  are compared as the database gives them (``LightReads.member_rows``, ``edge_rows``: tuples of
  strings and numbers, compared in C); values are made only of the rows that differ, and the
  index of the edges into each node is updated only for the nodes whose inputs changed;
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

The rows a view keeps (to compare the next ones with) are the last view's tuples wherever the
new ones are equal: the new ones are then freed at once, while tens of thousands of new tuples
kept would be walked by the garbage collector's next collection (50 ms for 38,000 after an edge
changed, half the rest of the view).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, replace
from itertools import starmap
from typing import TYPE_CHECKING

from nodepipe.domain.graph import topological_order
from nodepipe.domain.model import Edge, Pipeline, PipelineNode, PipelineView
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.effective import effective_item
from nodepipe.services.graph.view_rows import EdgeDelta, Patched, compared, patched
from nodepipe.services.runs.status import NodeStatusView, StatusPass, parent_problem
from nodepipe.store.light_read import member_of

if TYPE_CHECKING:
    from nodepipe.store.graph_journal import Mark
    from nodepipe.store.light_read import EdgeRow, LightReads, MemberRow

Stored = dict[str, tuple[str | None, str | None]]
_TAG, _MEMBER_END, _DIGEST = 1, 11, 12  # places in a MemberRow


@dataclass(frozen=True, slots=True)
class KeptView:
    """A pipeline's effective view and what it was computed from (never changed once made)."""

    view: PipelineView
    """The effective view (what the answer shows)."""
    base: PipelineView
    """The view as the store has it (stored states)."""
    rows: list[MemberRow]
    """The store's rows ``base``'s nodes and ``stored`` were made from (never changed)."""
    edge_rows: list[EdgeRow]
    """The store's rows ``base``'s edges were made from (never changed)."""
    ids: frozenset[str]
    """The ids of the nodes shown."""
    place: dict[str, int]
    """Each node's place in ``rows``, ``base.nodes`` and ``view.nodes``."""
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
    mark: Mark
    """The graph's change journal where ``rows`` and ``edge_rows`` were read."""


def updated_view(
    context: WorkspaceContext,
    session: LightReads,
    pipeline: Pipeline,
    caught_up: bool,
    last: KeptView | None,
    same_store: bool = False,
) -> KeptView:
    """The effective view of ``pipeline``: from ``last`` when it may be used, else whole.
    ``same_store``: nothing was committed to the store since ``last`` read it (what it read is
    used again: a file saved in a node folder costs no read of the pipeline's rows)."""
    memo = context.folder_memo
    generation = memo.generation
    told = memo.changed_since(last.generation) if last and last.generation is not None else None
    if (
        last is None
        or told is None
        or not caught_up
        or last.base.pipeline.id != pipeline.id
        or time.monotonic() >= last.until
    ):
        mark, _ = session.graph_changes(None)  # before the rows: see graph_journal
        rows, edge_rows = session.member_rows(pipeline.id), session.edge_rows(pipeline.id)
        frame = _frame(session, pipeline)
        return _whole(context, session, frame, rows, edge_rows, caught_up, generation, mark)
    if same_store:
        frame, mark = last.base, last.mark
        found = Patched(last.rows, [], EdgeDelta(last.edge_rows, last.base.edges, set(), set()))
    else:
        mark, changed = session.graph_changes(last.mark)
        frame = _frame(session, pipeline)
        got = None
        if changed is not None:
            args = (last.rows, last.place, last.edge_rows, last.base)
            got = patched(session, pipeline.id, changed, *args)
        if got is None:  # every row read again and compared with the last ones
            rows = session.member_rows(pipeline.id)
            edges = compared(session.edge_rows(pipeline.id), last.edge_rows, last.base.edges)
            got = Patched(rows, None, edges)
        found = got
    return _update(context, session, frame, found, last, told, generation, mark)


def _frame(session: LightReads, pipeline: Pipeline) -> PipelineView:
    """The view of ``pipeline`` without its nodes and edges (as ``pipeline_view`` reads it)."""
    project = session.get_project(pipeline.project_id)
    assert project is not None
    groups = tuple(session.groups_of_pipeline(pipeline.id))
    lineage = tuple(session.lineage([pipeline.id]))
    declared = session.pipeline_inputs(pipeline.id)
    return PipelineView(pipeline, project, (), (), groups, lineage, declared)


def _item(pipeline_id: str, row: MemberRow) -> PipelineNode:
    node, membership = member_of(pipeline_id, row)
    return PipelineNode(node, membership, node.owner_pipeline_id != pipeline_id)


def _whole(
    context: WorkspaceContext,
    session: LightReads,
    frame: PipelineView,
    rows: list[MemberRow],
    edge_rows: list[EdgeRow],
    caught_up: bool,
    generation: int,
    mark: Mark,
) -> KeptView:
    pipeline_id = frame.pipeline.id
    base = replace(
        frame,
        nodes=tuple(_item(pipeline_id, row) for row in rows),
        edges=tuple(starmap(Edge, edge_rows)),
    )
    ids = frozenset(row[0] for row in rows)
    stored = {row[0]: (row[_DIGEST - 1], row[_DIGEST]) for row in rows}
    order = topological_order(ids, base.edges)
    checking = StatusPass(context, session, base, stored, caught_up)
    statuses = {node_id: checking.status(node_id) for node_id in order}
    checking.finish()
    view = base.with_nodes(tuple(effective_item(i, statuses.get(i.node.id)) for i in base.nodes))
    vouched = context.folder_memo.vouching(ids, generation) if caught_up else None
    until, unkept = vouched if vouched is not None else (0.0, frozenset[str]())
    return KeptView(
        view=view,
        base=base,
        rows=rows,
        edge_rows=edge_rows,
        ids=ids,
        place={row[0]: at for at, row in enumerate(rows)},
        stored=stored,
        statuses=statuses,
        as_parent=checking.as_parent,
        order={node_id: place for place, node_id in enumerate(order)},
        children=_children(base.edges),
        generation=generation if vouched is not None else None,
        until=until,
        recheck=unkept | checking.named_elsewhere,
        recomputed=len(statuses),
        mark=mark,
    )


def _update(
    context: WorkspaceContext,
    session: LightReads,
    frame: PipelineView,
    found: Patched,
    last: KeptView,
    told: frozenset[str],
    generation: int,
    mark: Mark,
) -> KeptView:
    before = last.base
    dirty = set(told | last.recheck)
    touched: set[str] = set()  # parents whose children must be computed again
    rows = found.rows
    if rows is last.rows or found.differ == [] or rows == last.rows:  # the last ones are kept
        rows, nodes, stored, ids, place = last.rows, before.nodes, last.stored, last.ids, last.place
    else:
        rows, nodes, stored, ids, place = _nodes_again(
            frame.pipeline.id, rows, last, dirty, touched, found.differ
        )
    order, children = last.order, last.children
    delta = found.edges
    added = delta.added
    if delta.edges is before.edges:  # the last view's edges and their index are kept
        edge_rows, edged = last.edge_rows, before
    else:  # the nodes whose inputs changed are computed again
        edge_rows = delta.rows
        inputs_changed = {child for _, child, _ in added | delta.removed}
        dirty |= inputs_changed
        children = _children_updated(children, added, delta.removed)
        edged = before.with_edges(delta.edges, inputs_changed)
    base = frame.with_nodes(nodes, edged)
    if not ids <= order.keys() or any(order[parent] > order[child] for parent, child, _ in added):
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
    if place is last.place:  # the same nodes in the same places: the last ones, some replaced
        items = list(last.view.nodes)
        for node_id in queued:
            at = place[node_id]
            items[at] = effective_item(base.nodes[at], statuses[node_id])
        view = base.with_nodes(tuple(items))
    else:
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
        rows=rows,
        edge_rows=edge_rows,
        ids=ids,
        place=place,
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
        mark=mark,
    )


def _nodes_again(
    pipeline_id: str,
    rows: list[MemberRow],
    last: KeptView,
    dirty: set[str],
    touched: set[str],
    differ: list[int] | None,
) -> tuple[list[MemberRow], tuple[PipelineNode, ...], Stored, frozenset[str], dict[str, int]]:
    """The rows to keep, nodes, stored fingerprints, ids and places of ``rows``: the last view's
    value of each node whose row is the same (a new one only where it differs). Adds to
    ``dirty`` the nodes whose row differs, to ``touched`` those whose children must be computed
    again (added, renamed, or with a new output digest). ``differ``: the places whose rows
    differ, the nodes in the same places (None: unknown, every row is compared).

    The rows kept are the last view's tuples wherever equal (see the module's docstring)."""
    old_rows, old_nodes, old_stored = last.rows, last.base.nodes, last.stored
    if differ is None and len(rows) == len(old_rows):
        differ = [
            at for at, (row, old) in enumerate(zip(rows, old_rows, strict=True)) if row != old
        ]
    if (
        differ is not None
        and len(rows) == len(old_rows)
        and all(rows[at][0] == old_rows[at][0] for at in differ)  # the same nodes, in place
    ):
        kept, nodes, stored = list(old_rows), list(old_nodes), dict(old_stored)
        for at in differ:
            kept[at] = row = rows[at]
            stored[row[0]] = (row[_DIGEST - 1], row[_DIGEST])
            nodes[at] = _row_again(pipeline_id, row, old_rows[at], nodes[at], dirty, touched)
        return kept, tuple(nodes), stored, last.ids, last.place
    kept, items, stored = [], [], {}
    for row in rows:
        node_id = row[0]
        was = last.place.get(node_id)
        if was is not None and old_rows[was] == row:
            kept.append(old_rows[was])
            items.append(old_nodes[was])
            stored[node_id] = old_stored[node_id]
            continue
        kept.append(row)
        stored[node_id] = (row[_DIGEST - 1], row[_DIGEST])
        if was is None:
            items.append(_item(pipeline_id, row))
            dirty.add(node_id)
            touched.add(node_id)
        else:
            items.append(
                _row_again(pipeline_id, row, old_rows[was], old_nodes[was], dirty, touched)
            )
    place = {row[0]: at for at, row in enumerate(kept)}
    return kept, tuple(items), stored, frozenset(stored), place


def _row_again(
    pipeline_id: str,
    row: MemberRow,
    old: MemberRow,
    item: PipelineNode,
    dirty: set[str],
    touched: set[str],
) -> PipelineNode:
    """The value of a node the last view showed as ``item`` (read from ``old``), now read from
    ``row``: ``item`` itself while the node's own columns are the same."""
    if row == old:
        return item
    node_id = row[0]
    dirty.add(node_id)
    if old[_DIGEST] != row[_DIGEST]:
        touched.add(node_id)
    if old[:_MEMBER_END] == row[:_MEMBER_END]:
        return item
    if old[_TAG] != row[_TAG]:
        touched.add(node_id)
    return _item(pipeline_id, row)


_UNSEEN = object()


def _children(edges: tuple[Edge, ...]) -> dict[str, tuple[str, ...]]:
    children: dict[str, list[str]] = {}
    for edge in edges:
        children.setdefault(edge.parent_id, []).append(edge.child_id)
    return {parent: tuple(found) for parent, found in children.items()}


def _children_updated(
    children: dict[str, tuple[str, ...]], added: set[EdgeRow], removed: set[EdgeRow]
) -> dict[str, tuple[str, ...]]:
    """``children`` (each node's children, in no particular order) with edges added and
    removed."""
    updated = dict(children)
    for parent, child, _ in removed:
        updated[parent] = tuple(c for c in updated[parent] if c != child)
    for parent, child, _ in added:
        updated[parent] = (*updated.get(parent, ()), child)
    return updated
