"""The store's rows a pipeline's view is built from, after a change: the last view's rows with
those of the nodes the graph's change journal names read again, not every row.

The web app keeps the rows its last view of a pipeline was made from (``view_updates``). After a
commit, the journal (``store.graph_journal``) names the nodes whose node row, membership or
inputs changed since the last read; ``patched`` reads the member rows and the edges into those
nodes only, and puts them in the places a whole read would give them:

- a node whose tag is the same keeps its place (its row replaced where it differs);
- a node added, removed or renamed, and an edge added or removed, moves the others: its place is
  found by bisection in the store's order (``ORDER BY tag, id`` for nodes, ``slot, child_id`` for
  edges), which is Python's order of ``str`` on SQLite and on a PostgreSQL database with a
  code-point collation (``LightReads.code_point_order``); elsewhere ``patched`` gives None and
  the view reads every row again, as it does when the journal cannot say what changed.

``tests/integration/test_view_updates.py`` asserts the answer equals a whole build after each
kind of change, a write made with plain SQL behind nodepipe's back included.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from nodepipe.domain.model import Edge

if TYPE_CHECKING:
    from nodepipe.domain.model import PipelineView
    from nodepipe.store.light_read import EdgeRow, LightReads, MemberRow

_BY_TAG = itemgetter(1, 0)
"""A member row's place in the store's order: tag, then id."""
_BY_SLOT = itemgetter(2, 1)
"""An edge row's place in the store's order: slot, then child."""


@dataclass(frozen=True, slots=True)
class EdgeDelta:
    """The edges of a view made from the last view's: their rows and values, in order, and the
    rows added and removed (``rows`` is the last view's list itself when nothing changed)."""

    rows: list[EdgeRow]
    edges: tuple[Edge, ...]
    added: set[EdgeRow]
    removed: set[EdgeRow]


@dataclass(frozen=True, slots=True)
class Patched:
    rows: list[MemberRow]
    """Every member row, in order (the last list itself when none changed)."""
    differ: list[int] | None
    """The places whose rows differ from the last ones, the nodes in the same places (None:
    nodes were added, removed or moved: the caller compares every row)."""
    edges: EdgeDelta


def patched(
    session: LightReads,
    pipeline_id: str,
    changed: frozenset[str],
    last_rows: list[MemberRow],
    place: dict[str, int],
    last_edge_rows: list[EdgeRow],
    base: PipelineView,
) -> Patched | None:
    """The rows after the nodes ``changed`` changed (None: their order is the database's own,
    read everything again)."""
    if not changed:
        return Patched(last_rows, [], EdgeDelta(last_edge_rows, base.edges, set(), set()))
    found = {row[0]: row for row in session.member_rows_of(pipeline_id, changed)}
    differ: list[int] = []
    moves: list[tuple[int | None, MemberRow | None]] = []
    for node_id in changed:
        at, row = place.get(node_id), found.get(node_id)
        if at is not None and row is not None and last_rows[at][1] == row[1]:
            if last_rows[at] != row:
                differ.append(at)
        elif at is not None or row is not None:
            moves.append((at, row))
    ordered: list[bool] = []

    def in_python_order() -> bool:
        if not ordered:
            ordered.append(session.code_point_order())
        return ordered[0]

    if moves and not in_python_order():
        return None
    rows = last_rows
    if differ or moves:
        rows = list(last_rows)
        for at in differ:
            rows[at] = found[last_rows[at][0]]
    if moves:
        for at in sorted((at for at, _ in moves if at is not None), reverse=True):
            del rows[at]
        for _, row in moves:
            if row is not None:
                rows.insert(bisect_left(rows, _BY_TAG(row), key=_BY_TAG), row)
    edges = _edges(session, pipeline_id, changed, last_edge_rows, base, in_python_order)
    if edges is None:
        return None
    return Patched(rows, None if moves else differ, edges)


def _edges(
    session: LightReads,
    pipeline_id: str,
    changed: frozenset[str],
    last_rows: list[EdgeRow],
    base: PipelineView,
    in_python_order: Callable[[], bool],
) -> EdgeDelta | None:
    now = set(session.edge_rows_into(pipeline_id, changed))
    was = {(e.parent_id, e.child_id, e.slot) for node in changed for e in base.inputs(node)}
    added, removed = now - was, was - now
    if not added and not removed:
        return EdgeDelta(last_rows, base.edges, added, removed)
    if not in_python_order():
        return None
    rows, edges = list(last_rows), list(base.edges)
    for row in sorted(removed, key=_BY_SLOT, reverse=True):
        at = bisect_left(rows, _BY_SLOT(row), key=_BY_SLOT)
        if at == len(rows) or rows[at] != row:
            return None  # not where the store's order puts it: read everything again
        del rows[at], edges[at]
    for row in sorted(added, key=_BY_SLOT):
        at = bisect_left(rows, _BY_SLOT(row), key=_BY_SLOT)
        rows.insert(at, row)
        edges.insert(at, Edge(*row))
    return EdgeDelta(rows, tuple(edges), added, removed)


def compared(
    edge_rows: list[EdgeRow], last_rows: list[EdgeRow], last_edges: tuple[Edge, ...]
) -> EdgeDelta:
    """The edges of ``edge_rows`` (read whole) against the last ones: the last values (and rows)
    kept wherever equal, new ones made only for rows added."""
    if edge_rows == last_rows:
        return EdgeDelta(last_rows, last_edges, set(), set())
    old_rows, new_rows = set(last_rows), set(edge_rows)
    added, removed = new_rows - old_rows, old_rows - new_rows
    edge_of = dict(zip(last_rows, last_edges, strict=True))
    edge_of.update((row, Edge(*row)) for row in added)
    edges = tuple(map(edge_of.__getitem__, edge_rows))
    same = dict(zip(last_rows, last_rows, strict=True))
    return EdgeDelta(list(map(same.get, edge_rows, edge_rows)), edges, added, removed)
