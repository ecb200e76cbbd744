"""Queries on a pipeline's includes and the nodes that came from each (part of ``StoreSession``)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa

from nodepipe.domain.bundles import IncludeMember, PipelineInclude
from nodepipe.store import rows
from nodepipe.store.base import QueryBase
from nodepipe.store.schema import include_members, pipeline_includes


def _include(row: sa.RowMapping) -> PipelineInclude:
    return PipelineInclude(
        id=row["id"],
        pipeline_id=row["pipeline_id"],
        namespace=row["namespace"],
        source=row["source"],
        loader=row["loader"],
        location=row["location"],
        content_hash=row["content_hash"],
        updated_at=row["updated_at"],
        inputs=json.loads(row["inputs"] or "{}"),
        params=json.loads(row["params"] or "{}"),
    )


def _include_values(include: PipelineInclude) -> dict[str, Any]:
    return {
        "id": include.id,
        "pipeline_id": include.pipeline_id,
        "namespace": include.namespace,
        "source": include.source,
        "loader": include.loader,
        "location": include.location,
        "content_hash": include.content_hash,
        "updated_at": include.updated_at,
        "inputs": json.dumps(dict(include.inputs), sort_keys=True),
        "params": json.dumps(dict(include.params), sort_keys=True),
    }


class IncludeQueries(QueryBase):
    """What each pipeline includes, and which of its nodes belong to which include."""

    def insert_include(self, include: PipelineInclude) -> None:
        self._execute(pipeline_includes.insert().values(**_include_values(include)))

    def update_include(self, include: PipelineInclude) -> None:
        values = _include_values(include)
        del values["id"]
        self._execute(
            pipeline_includes.update().where(pipeline_includes.c.id == include.id).values(values)
        )

    def delete_include(self, include_id: str) -> None:
        self._execute(pipeline_includes.delete().where(pipeline_includes.c.id == include_id))

    def get_include(self, include_id: str) -> PipelineInclude | None:
        row = self._one(pipeline_includes.select().where(pipeline_includes.c.id == include_id))
        return _include(row) if row else None

    def includes_of_pipeline(self, pipeline_id: str) -> list[PipelineInclude]:
        statement = (
            pipeline_includes.select()
            .where(pipeline_includes.c.pipeline_id == pipeline_id)
            .order_by(pipeline_includes.c.namespace)
        )
        return [_include(r) for r in self._all(statement)]

    def file_include_locations(self) -> set[str]:
        """Where every include read from a folder of this machine was found (any pipeline)."""
        statement = sa.select(pipeline_includes.c.location).where(
            pipeline_includes.c.loader == "file"
        )
        return {r["location"] for r in self._all(statement)}

    def insert_include_members(self, members: Iterable[IncludeMember]) -> None:
        rows = [{"include_id": m.include_id, "node_id": m.node_id, "key": m.key} for m in members]
        if rows:
            self._connection.execute(include_members.insert(), rows)

    def delete_include_members(self, include_id: str, node_ids: Collection[str]) -> None:
        self._execute(
            include_members.delete().where(
                include_members.c.include_id == include_id,
                include_members.c.node_id.in_(list(node_ids)),
            )
        )

    def include_origins(self, pipeline_id: str) -> dict[str, tuple[str, str]]:
        """Each node an include of ``pipeline_id`` brought: the namespace of the deepest
        include holding it and where that include was found (``origin_of``)."""
        statement = (
            sa.select(
                include_members.c.node_id,
                pipeline_includes.c.namespace,
                pipeline_includes.c.location,
            )
            .join(pipeline_includes, pipeline_includes.c.id == include_members.c.include_id)
            .where(pipeline_includes.c.pipeline_id == pipeline_id)
        )
        found = self._all(statement)
        return rows.origin_of((r["node_id"], r["namespace"], r["location"]) for r in found)

    def include_members(self, include_ids: Collection[str]) -> list[IncludeMember]:
        """The members of these includes, by include then key."""
        statement = (
            include_members.select()
            .where(include_members.c.include_id.in_(list(include_ids)))
            .order_by(include_members.c.include_id, include_members.c.key)
        )
        return [
            IncludeMember(r["include_id"], r["node_id"], r["key"]) for r in self._all(statement)
        ]
