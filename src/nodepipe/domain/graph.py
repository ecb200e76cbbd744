"""Graph algorithms over edges, as pure functions: cycles, ancestors, descendants, order."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from graphlib import CycleError

from nodepipe.domain.model import Edge


def children_map(edges: Iterable[Edge]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        result[edge.parent_id].append(edge.child_id)
    return result


def parents_map(edges: Iterable[Edge]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        result[edge.child_id].append(edge.parent_id)
    return result


def _reachable(start: Iterable[str], neighbours: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    queue = deque(start)
    while queue:
        current = queue.popleft()
        for nxt in neighbours.get(current, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def descendants(node_ids: Iterable[str], edges: Iterable[Edge]) -> set[str]:
    """Every node reachable downstream of ``node_ids`` (not including them)."""
    return _reachable(node_ids, children_map(edges))


def ancestors(node_ids: Iterable[str], edges: Iterable[Edge]) -> set[str]:
    """Every node upstream of ``node_ids`` (not including them)."""
    return _reachable(node_ids, parents_map(edges))


def heads(node_ids: Iterable[str], edges: Iterable[Edge]) -> set[str]:
    """Nodes among ``node_ids`` with no parent among ``node_ids``."""
    members = set(node_ids)
    with_parent = {e.child_id for e in edges if e.parent_id in members and e.child_id in members}
    return members - with_parent


def path_between(start: str, goal: str, edges: Iterable[Edge]) -> list[str] | None:
    """A shortest downstream path ``start`` -> ... -> ``goal``, or None if there is none."""
    children = children_map(edges)
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == goal:
            path: list[str] = []
            cursor: str | None = current
            while cursor is not None:
                path.append(cursor)
                cursor = previous[cursor]
            return path[::-1]
        for nxt in sorted(children.get(current, ())):
            if nxt not in previous:
                previous[nxt] = current
                queue.append(nxt)
    return None


def cycle_if_connected(parent_id: str, child_id: str, edges: Iterable[Edge]) -> list[str] | None:
    """The cycle that adding ``parent -> child`` would close, as ``[parent, child, ..., parent]``.

    None when the new edge keeps the graph acyclic.
    """
    if parent_id == child_id:
        return [parent_id, parent_id]
    path = path_between(child_id, parent_id, edges)
    return None if path is None else [parent_id, *path]


def topological_order(node_ids: Iterable[str], edges: Iterable[Edge]) -> list[str]:
    """Parents before children, ties broken by id so the order is stable: every node whose
    parents are all placed comes next, in waves, each wave sorted (Kahn's algorithm, O(nodes +
    edges)). Edges to or from nodes outside ``node_ids`` are ignored; a cycle raises
    graphlib's CycleError, as the store never holds one."""
    members = set(node_ids)
    children: dict[str, list[str]] = defaultdict(list)
    waiting = dict.fromkeys(members, 0)
    for edge in edges:
        if edge.parent_id in members and edge.child_id in members:
            children[edge.parent_id].append(edge.child_id)
            waiting[edge.child_id] += 1
    wave = sorted(node for node, count in waiting.items() if count == 0)
    order: list[str] = []
    while wave:
        order.extend(wave)
        ready = []
        for node in wave:
            for child in children.get(node, ()):
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        wave = sorted(ready)
    if len(order) != len(members):
        raise CycleError("nodes are in a cycle", sorted(members - set(order)))
    return order
