"""Which nodes a pipeline shows, and where: the ancestor-closure rule and canvas placement.

A node has the same parents in every pipeline that shows it, so a pipeline that shows a node
also shows all its ancestors: missing ones are added there as references (read-only). Tags are
for humans, so two nodes of one pipeline do not share a tag unless the user insists.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, NamedTuple

from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError, NameTakenError
from nodepipe.domain.graph import ancestors, parents_map, topological_order
from nodepipe.domain.model import Edge, Membership
from nodepipe.store.light_edges import EdgeWrites

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession

COLUMN_WIDTH = 240.0
ROW_HEIGHT = 120.0
# A card on the canvas is 200 wide: a node within this distance sideways shares its rows.
CARD_SPAN = 220.0


def check_position(node: str, x: float, y: float) -> None:
    """Refuse a canvas position that is not two finite numbers (NaN cannot be stored, and an
    infinity is no JSON: the CLI would print ``Infinity``, the API ``null``)."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
    if not (numbers and math.isfinite(x) and math.isfinite(y)):
        raise InvalidInputError(f"position of {node} must be finite numbers, not ({x}, {y})")


def place_new(
    session: EdgeWrites, pipeline_id: str, parent_ids: Iterable[str] = ()
) -> tuple[float, float]:
    """A free canvas spot: right of the parents, or at the left when there are none, below
    every card that would overlap it there (a node laid out by the app sits between columns).

    Reads the parents' memberships and the bottom of that column, not the whole pipeline."""
    shown_parents = session.memberships_of(pipeline_id, list(parent_ids)).values()
    x = max(m.x for m in shown_parents) + COLUMN_WIDTH if shown_parents else 0.0
    bottom = session.lowest_y(pipeline_id, (x - CARD_SPAN, x + CARD_SPAN))
    return x, (bottom + ROW_HEIGHT if bottom is not None else 0.0)


def place_below(session: StoreSession, pipeline_id: str, count: int) -> list[tuple[float, float]]:
    """``count`` free spots for nodes without parents, one below the other (what ``place_new``
    gives each in turn, from one look at the bottom of the first column)."""
    bottom = session.lowest_y(pipeline_id, (-CARD_SPAN, CARD_SPAN))
    top = bottom + ROW_HEIGHT if bottom is not None else 0.0
    return [(0.0, top + i * ROW_HEIGHT) for i in range(count)]


def show_with_ancestors(
    session: EdgeWrites,
    pipeline_id: str,
    node_ids: Collection[str],
    edges: list[Edge] | None = None,
) -> list[str]:
    """Add ``node_ids`` and their ancestors that the pipeline lacks as memberships.

    Returns the ids added, parents first. Positions follow the graph's order. ``edges`` must
    hold at least the edges above ``node_ids`` (read from the store when not given). Reads
    only the memberships of those nodes, never the pipeline's other members.
    """
    edges = session.edges_above(list(node_ids)) if edges is None else edges
    wanted = set(node_ids) | ancestors(node_ids, edges)
    shown = set(session.memberships_of(pipeline_id, wanted))
    missing = topological_order(wanted - shown, edges)
    parents = parents_map(edges)
    for node_id in missing:
        x, y = place_new(session, pipeline_id, parents.get(node_id, ()))
        session.insert_membership(Membership(pipeline_id=pipeline_id, node_id=node_id, x=x, y=y))
    return missing


def keep_parents_shown(session: EdgeWrites, child_ids: str | Collection[str]) -> list[str]:
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
    can_allow: bool = True,
) -> None:
    """Refuse a second node tagged ``tag`` (or any of several tags) in the pipeline
    (ConflictError naming the first; for one tag a NameTakenError, about the ``tag`` a surface
    asked for), unless ``allowed``; nodes in ``ignoring`` (the one being renamed) do not count.
    ``can_allow``: the operation can keep a duplicate tag when asked, so the error's hint
    offers that. One indexed query for the tags, however many."""
    if allowed:
        return
    wanted = {tag} if isinstance(tag, str) else set(tag)
    skip = set(ignoring)
    for node_id, found in session.shown_tagged(pipeline_id, wanted):
        if node_id in skip:
            continue
        message = (
            f"the pipeline already has a node tagged {found!r} ({node_id}); choose another tag"
        )
        hint = Hint(Action.TAG_DUPLICATE, {"tag": found}) if can_allow else None
        if isinstance(tag, str):
            raise NameTakenError(message, "tag", hint=hint)
        raise ConflictError(message, hint=hint)


def check_references_tagged_apart(
    session: StoreSession, pipeline_id: str, pipeline_tag: str, added: Collection[str]
) -> None:
    """Refuse nodes just shown in the pipeline (``added``, references) whose tag another of its
    nodes has: a reference shows a node under the node's own tag, it has no alias of its own.
    The ConflictError's hint renames the node already there, or duplicates with a tag."""
    new = set(added)
    tags = {node.tag for node in session.get_nodes(new).values()}
    members = [Tagged(node_id, tag) for node_id, tag in session.shown_tagged(pipeline_id, tags)]
    for node in members:
        if node.id not in new:
            continue
        others = [other for other in members if other.tag == node.tag and other.id != node.id]
        if not others:
            continue
        there = next((other for other in others if other.id not in new), others[0])
        source = _shown_elsewhere(session, node.id, pipeline_id)
        raise ConflictError(
            f"pipeline {pipeline_tag!r} already has a node tagged {node.tag!r} ({there.id}); "
            f"a reference shows {node.id} under its own tag (a reference has no alias of its "
            "own), so give one of them another tag, or show a copy with a tag of its own "
            "instead",
            hint=Hint(
                Action.NODE_RENAME,
                {
                    "node": there.id,
                    "tag": there.tag,
                    "referenced": node.id,
                    "pipeline": pipeline_tag,
                    "source": source,
                },
            ),
        )


def _shown_elsewhere(session: StoreSession, node_id: str, pipeline_id: str) -> str:
    """The tag of a pipeline other than ``pipeline_id`` that shows ``node_id`` (where a copy
    of it can be made from): the first by id."""
    showing = [p for p in session.pipelines_showing([node_id])[node_id] if p != pipeline_id]
    found = session.get_pipeline(showing[0]) if showing else None
    return found.tag if found is not None else ""


def free_tag(session: StoreSession, pipeline_id: str, tag: str) -> str:
    """``tag`` if no node of the pipeline has it, else ``tag-copy``, ``tag-copy-2``..."""
    first = 0
    while True:  # the candidates, a few dozen at a time: one query each
        candidates = [_copy_tag(tag, n) for n in range(first, first + 32)]
        taken = {found for _, found in session.shown_tagged(pipeline_id, candidates)}
        free = next((c for c in candidates if c not in taken), None)
        if free is not None:
            return free
        first += 32


def free_tag_among(tag: str, taken: Collection[str]) -> str:
    """The first of ``tag``, ``tag-copy``, ``tag-copy-2``... not in ``taken`` (``free_tag``'s
    rule, for tags not in the store yet)."""
    number = 0
    while _copy_tag(tag, number) in taken:
        number += 1
    return _copy_tag(tag, number)


def _copy_tag(tag: str, number: int) -> str:
    """The ``number``-th candidate: ``tag``, ``tag-copy``, then ``tag-copy-2``..."""
    return tag if number == 0 else f"{tag}-copy" if number == 1 else f"{tag}-copy-{number}"


class Tagged(NamedTuple):
    id: str
    tag: str
