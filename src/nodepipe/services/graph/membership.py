"""Which nodes a pipeline shows, and where: the ancestor-closure rule and canvas placement.

A node has the same parents in every pipeline that shows it, so a pipeline that shows a node
also shows all its ancestors: missing ones are added there as references (read-only). Tags are
for humans, so two nodes of one pipeline do not share a tag unless the user insists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

from nodepipe.domain.errors import Action, ConflictError, Hint
from nodepipe.domain.graph import ancestors, topological_order
from nodepipe.domain.model import Edge, Membership
from nodepipe.store.queries import StoreSession

COLUMN_WIDTH = 240.0
ROW_HEIGHT = 120.0
# A card on the canvas is 200 wide: a node within this distance sideways shares its rows.
CARD_SPAN = 220.0


def place_new(
    session: StoreSession, pipeline_id: str, parent_ids: Iterable[str] = ()
) -> tuple[float, float]:
    """A free canvas spot: right of the parents, or at the left when there are none, below
    every card that would overlap it there (a node laid out by the app sits between columns)."""
    members = {m.node_id: m for m in session.memberships_of_pipeline(pipeline_id)}
    shown_parents = [members[p] for p in parent_ids if p in members]
    x = max(m.x for m in shown_parents) + COLUMN_WIDTH if shown_parents else 0.0
    column = [m.y for m in members.values() if abs(m.x - x) < CARD_SPAN]
    y = max(column) + ROW_HEIGHT if column else 0.0
    return x, y


def place_below(session: StoreSession, pipeline_id: str, count: int) -> list[tuple[float, float]]:
    """``count`` free spots for nodes without parents, one below the other (what ``place_new``
    gives each in turn, from one read of the pipeline's memberships)."""
    column = [m.y for m in session.memberships_of_pipeline(pipeline_id) if abs(m.x) < CARD_SPAN]
    top = max(column) + ROW_HEIGHT if column else 0.0
    return [(0.0, top + i * ROW_HEIGHT) for i in range(count)]


def show_with_ancestors(
    session: StoreSession,
    pipeline_id: str,
    node_ids: Collection[str],
    edges: list[Edge] | None = None,
) -> list[str]:
    """Add ``node_ids`` and their ancestors that the pipeline lacks as memberships.

    Returns the ids added, parents first. Positions follow the graph's order. ``edges`` must
    hold at least the edges above ``node_ids`` (read from the store when not given).
    """
    edges = session.edges_above(list(node_ids)) if edges is None else edges
    wanted = set(node_ids) | ancestors(node_ids, edges)
    shown = {m.node_id for m in session.memberships_of_pipeline(pipeline_id)}
    missing = topological_order(wanted - shown, edges)
    for node_id in missing:
        parents = [e.parent_id for e in edges if e.child_id == node_id]
        x, y = place_new(session, pipeline_id, parents)
        session.insert_membership(Membership(pipeline_id=pipeline_id, node_id=node_id, x=x, y=y))
    return missing


def keep_parents_shown(session: StoreSession, child_ids: str | Collection[str]) -> list[str]:
    """After ``child_ids`` gained parents: every pipeline showing one shows its new ancestors.

    A pipeline that shows all a child's parents shows their ancestors too (the rule above),
    so only a pipeline lacking a parent reads the edges above the child: connecting two nodes
    of one pipeline costs the same whatever the pipeline's size.
    """
    children = [child_ids] if isinstance(child_ids, str) else list(child_ids)
    showing = session.pipelines_showing(children)
    parents_of: dict[str, set[str]] = defaultdict(set)
    for edge in session.edges_into(children):
        parents_of[edge.child_id].add(edge.parent_id)
    shown = session.pipelines_showing({p for parents in parents_of.values() for p in parents})
    lacking: dict[str, list[str]] = defaultdict(list)
    for child in children:
        for pipeline_id in showing[child]:
            if any(pipeline_id not in shown[parent] for parent in parents_of[child]):
                lacking[pipeline_id].append(child)
    if not lacking:
        return []
    edges = session.edges_above({c for kids in lacking.values() for c in kids})
    added: list[str] = []
    for pipeline_id, kids in lacking.items():
        added += show_with_ancestors(session, pipeline_id, kids, edges)
    return added


def check_tag_free(
    session: StoreSession,
    pipeline_id: str,
    tag: str | Collection[str],
    *,
    allowed: bool = False,
    ignoring: Iterable[str] = (),
) -> None:
    """Refuse a second node tagged ``tag`` (or any of several tags) in the pipeline
    (ConflictError naming the first), unless ``allowed``; nodes in ``ignoring`` (the one being
    renamed) do not count. The pipeline's members are read once, however many tags."""
    if allowed:
        return
    wanted = {tag} if isinstance(tag, str) else set(tag)
    skip = set(ignoring)
    for node, _ in session.pipeline_members(pipeline_id):
        if node.tag in wanted and node.id not in skip:
            raise ConflictError(
                f"the pipeline already has a node tagged {node.tag!r} ({node.id}); choose "
                "another tag, or allow a duplicate tag"
            )


def check_references_tagged_apart(
    session: StoreSession, pipeline_id: str, pipeline_tag: str, added: Collection[str]
) -> None:
    """Refuse nodes just shown in the pipeline (``added``, references) whose tag another of its
    nodes has: a reference shows a node under the node's own tag, it has no alias of its own.
    The ConflictError's hint renames the node already there, or duplicates with a tag."""
    new = set(added)
    members = [node for node, _ in session.pipeline_members(pipeline_id)]
    for node in members:
        if node.id not in new:
            continue
        others = [other for other in members if other.tag == node.tag and other.id != node.id]
        if not others:
            continue
        there = next((other for other in others if other.id not in new), others[0])
        raise ConflictError(
            f"pipeline {pipeline_tag!r} already has a node tagged {node.tag!r} ({there.id}); "
            f"a reference shows {node.id} under its own tag (a reference has no alias of its "
            "own), so give one of them another tag, show a copy with a tag of its own instead, "
            "or allow a duplicate tag",
            hint=Hint(
                Action.NODE_RENAME,
                {
                    "node": there.id,
                    "tag": there.tag,
                    "referenced": node.id,
                    "pipeline": pipeline_tag,
                },
            ),
        )


def free_tag(session: StoreSession, pipeline_id: str, tag: str) -> str:
    """``tag`` if no node of the pipeline has it, else ``tag-copy``, ``tag-copy-2``..."""
    taken = {node.tag for node, _ in session.pipeline_members(pipeline_id)}
    if tag not in taken:
        return tag
    candidate, number = f"{tag}-copy", 2
    while candidate in taken:
        candidate, number = f"{tag}-copy-{number}", number + 1
    return candidate
