"""Queries that walk the graph inside the store (part of ``StoreSession``).

A graph edit touches the part of the graph it changes: the edges below a node (a cycle check,
what becomes stale) or above it (what a pipeline must also show) come from one recursive query
each, never from loading the whole edge table, so connecting a node costs the same in a
pipeline of 10 nodes and of 10,000. A name a user typed is looked up by an indexed equality
first; only a name that matches no id or tag exactly reads every candidate (prefixes, "did you
mean").
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from nodepipe.domain.model import Edge
from nodepipe.store import rows
from nodepipe.store.base import QueryBase
from nodepipe.store.schema import edges, memberships, nodes, pipelines

_CHUNK = 400  # names per query: two parameters each, well under any database's limit


class GraphQueries(QueryBase):
    def edges_below(self, node_ids: Collection[str]) -> list[Edge]:
        """Every edge downstream of ``node_ids``: out of them and out of their descendants."""
        return self._reachable_edges(node_ids, edges.c.parent_id, edges.c.child_id)

    def edges_above(self, node_ids: Collection[str]) -> list[Edge]:
        """Every edge upstream of ``node_ids``: into them and into their ancestors."""
        return self._reachable_edges(node_ids, edges.c.child_id, edges.c.parent_id)

    def _reachable_edges(
        self, node_ids: Collection[str], near: sa.Column[str], far: sa.Column[str]
    ) -> list[Edge]:
        if not node_ids:
            return []
        start = sa.select(far.label("id")).where(near.in_(list(node_ids)))
        reached = start.cte("reached", recursive=True)
        reached = reached.union(sa.select(far).join(reached, near == reached.c.id))
        statement = edges.select().where(
            sa.or_(near.in_(list(node_ids)), near.in_(sa.select(reached.c.id)))
        )
        return [rows.edge_from_row(r) for r in self._all(statement)]

    def node_tags_named(self, name: str) -> list[tuple[str, str, str]]:
        """(node id, node tag, pipeline tag) for every membership of a node whose id or tag is
        exactly ``name``: what a typed name resolves against when it is no prefix."""
        return self.node_tags_named_any([name])

    def node_tags_named_any(self, names: Collection[str]) -> list[tuple[str, str, str]]:
        """``node_tags_named`` for many names at once (indexed lookups, in chunks of 400)."""
        found: list[tuple[str, str, str]] = []
        wanted = list(dict.fromkeys(names))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            statement = (
                sa.select(nodes.c.id, nodes.c.tag, pipelines.c.tag.label("pipeline_tag"))
                .select_from(nodes.join(memberships, memberships.c.node_id == nodes.c.id))
                .join(pipelines, pipelines.c.id == memberships.c.pipeline_id)
                .where(sa.or_(nodes.c.id.in_(chunk), nodes.c.tag.in_(chunk)))
            )
            found += [(r["id"], r["tag"], r["pipeline_tag"]) for r in self._all(statement)]
        return found
