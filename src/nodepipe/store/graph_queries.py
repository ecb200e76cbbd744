"""Queries that walk the graph inside the store (part of ``StoreSession``).

A graph edit touches the part of the graph it changes: the edges below a node (a cycle check,
what becomes stale) or above it (what a pipeline must also show) come from one recursive query
each, never from loading the whole edge table, so connecting a node costs the same in a
pipeline of 10 nodes and of 10,000. A name a user typed is looked up by an indexed equality
first; only a name that matches no id or tag exactly reads every candidate (prefixes, "did you
mean"). Placing a node and checking a tag read the memberships and tags they concern, and the
bottom of a canvas column as one aggregate, never every member of the pipeline.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from nodepipe.domain.model import Edge, Membership
from nodepipe.store import rows
from nodepipe.store.base import QueryBase
from nodepipe.store.graph_journal import Mark, code_point_order, journal_since
from nodepipe.store.schema import edges, memberships, nodes, pipelines

_CHUNK = 400  # names per query: two parameters each, well under any database's limit


class GraphQueries(QueryBase):
    def graph_changes(self, since: Mark | None) -> tuple[Mark, frozenset[str] | None]:
        """The journal's mark now and the nodes changed since ``since``
        (``graph_journal.journal_since``)."""
        return journal_since(self._driver_rows, self._postgres, since)

    def code_point_order(self) -> bool:
        """Whether this store orders text as Python orders ``str``."""
        return code_point_order(self._driver_rows, self._postgres)

    @property
    def _postgres(self) -> bool:
        return self._connection.dialect.name == "postgresql"

    def _driver_rows(self, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` written with ``?`` parameters, as tuples (the driver's own style)."""
        if self._postgres:
            sql = sql.replace("?", "%s")
        return [tuple(r) for r in self._connection.exec_driver_sql(sql, tuple(parameters))]

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

    def memberships_of(self, pipeline_id: str, node_ids: Collection[str]) -> dict[str, Membership]:
        """The memberships of ``node_ids`` in the pipeline (those it shows), by node id."""
        found: dict[str, Membership] = {}
        wanted = list(dict.fromkeys(node_ids))
        for start in range(0, len(wanted), _CHUNK):
            statement = memberships.select().where(
                memberships.c.pipeline_id == pipeline_id,
                memberships.c.node_id.in_(wanted[start : start + _CHUNK]),
            )
            for row in self._all(statement):
                found[row["node_id"]] = rows.membership_from_row(row)
        return found

    def lowest_y(
        self, pipeline_id: str, x_between: tuple[float, float] | None = None
    ) -> float | None:
        """The largest ``y`` of the pipeline's nodes (whose ``x`` lies strictly between the two
        bounds, when given): where the canvas, or one column of it, ends. None when empty."""
        statement = sa.select(sa.func.max(memberships.c.y)).where(
            memberships.c.pipeline_id == pipeline_id
        )
        if x_between is not None:
            statement = statement.where(
                memberships.c.x > x_between[0], memberships.c.x < x_between[1]
            )
        found = self._connection.execute(statement).scalar()
        return None if found is None else float(found)

    def shown_tagged(self, pipeline_id: str, tags: Collection[str]) -> list[tuple[str, str]]:
        """(node id, tag) of every node the pipeline shows whose tag is among ``tags``, by tag
        then id."""
        found: list[tuple[str, str]] = []
        wanted = list(dict.fromkeys(tags))
        for start in range(0, len(wanted), _CHUNK):
            statement = (
                sa.select(nodes.c.id, nodes.c.tag)
                .select_from(nodes.join(memberships, memberships.c.node_id == nodes.c.id))
                .where(
                    memberships.c.pipeline_id == pipeline_id,
                    nodes.c.tag.in_(wanted[start : start + _CHUNK]),
                )
            )
            found += [(r["id"], r["tag"]) for r in self._all(statement)]
        return sorted(found, key=lambda entry: (entry[1], entry[0]))
