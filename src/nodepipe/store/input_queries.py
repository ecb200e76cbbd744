"""Queries on the inputs a pipeline declares as a bundle (part of ``StoreSession``): input name
→ the ids of the pipeline's nodes that take it."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlalchemy as sa

from nodepipe.store.base import QueryBase
from nodepipe.store.schema import memberships, pipeline_inputs


class InputQueries(QueryBase):
    """What a pipeline needs from outside when it is included (``[inputs]``)."""

    def pipeline_inputs(self, pipeline_id: str) -> dict[str, tuple[str, ...]]:
        """Input name → the ids of the nodes taking it (sorted); inputs by name. Sorted here,
        by code point, not by the database: PostgreSQL's ``ORDER BY`` follows its collation,
        and both stores must answer (and export) the same order."""
        statement = pipeline_inputs.select().where(pipeline_inputs.c.pipeline_id == pipeline_id)
        found: dict[str, list[str]] = {}
        for row in self._all(statement):
            found.setdefault(row["name"], []).append(row["node_id"])
        return {name: tuple(sorted(found[name])) for name in sorted(found)}

    def set_pipeline_inputs(self, pipeline_id: str, inputs: Mapping[str, Collection[str]]) -> None:
        """Replace the pipeline's inputs with ``inputs`` (name → node ids, each a member of the
        pipeline); an empty mapping clears them."""
        self._execute(pipeline_inputs.delete().where(pipeline_inputs.c.pipeline_id == pipeline_id))
        rows = [
            {"pipeline_id": pipeline_id, "name": name, "node_id": node_id}
            for name, node_ids in sorted(inputs.items())
            for node_id in sorted(set(node_ids))
        ]
        if rows:
            self._connection.execute(pipeline_inputs.insert(), rows)

    def hand_over_inputs(
        self,
        pipeline_id: str,
        declared: Mapping[str, Collection[str]],
        moves: Mapping[str, str],
    ) -> None:
        """Declare ``declared`` (the pipeline's inputs, read before a graph change) again, each
        node of ``moves`` replaced by the node that took its place in the pipeline (a copy, a
        replacement); a node the pipeline no longer shows is left out."""
        statement = sa.select(memberships.c.node_id).where(memberships.c.pipeline_id == pipeline_id)
        shown = set(self._connection.execute(statement).scalars())
        moved = {
            name: [moves.get(node_id, node_id) for node_id in node_ids]
            for name, node_ids in declared.items()
        }
        self.set_pipeline_inputs(
            pipeline_id,
            {name: [i for i in node_ids if i in shown] for name, node_ids in moved.items()},
        )
