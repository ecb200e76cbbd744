"""The writes of ``connect`` and ``disconnect``, through ``sqlite3`` on the embedded store.

An edge edit reads a few indexed rows (the two ends, the child's inputs, the edges below it,
the memberships of the pipelines showing it) and writes a few: importing SQLAlchemy for them
would cost a CLI ``connect`` ten times what the edit itself costs. So on an SQLite store
``Store.edge_write()`` is this module's ``EdgeWriteSession``: the write transaction of
``light_write`` (``BEGIN IMMEDIATE``, foreign keys on, full sync; committed when the block
ends, rolled back on any exception, so a killed ``connect`` leaves nothing half-made)
answering the queries in ``EdgeWrites``, each the SQL ``store.queries``/``graph_queries``
build with SQLAlchemy Core, written out. ``tests/contract/test_light_edges.py`` makes the same
edits through both and compares every table. On PostgreSQL ``edge_write()`` is ``write()``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from nodepipe.domain.model import Edge, Membership, Pipeline
from nodepipe.store import rows
from nodepipe.store.light_read import NODE_NAMES
from nodepipe.store.light_write import RunWrites, RunWriteSession, write_session

_CHUNK = 400  # names per query, as graph_queries reads them


class EdgeWrites(RunWrites, Protocol):
    """What connecting and disconnecting read and write (``StoreSession``, ``EdgeWriteSession``)."""

    def get_pipeline(self, pipeline_id: str) -> Pipeline | None: ...
    def node_tags_named_any(self, names: Collection[str]) -> list[tuple[str, str, str]]: ...
    def edges_into(self, child_ids: Iterable[str]) -> list[Edge]: ...
    def edges_below(self, node_ids: Collection[str]) -> list[Edge]: ...
    def edges_above(self, node_ids: Collection[str]) -> list[Edge]: ...
    def pipelines_showing(self, node_ids: Collection[str]) -> dict[str, list[str]]: ...
    def memberships_of(
        self, pipeline_id: str, node_ids: Collection[str]
    ) -> dict[str, Membership]: ...
    def lowest_y(
        self, pipeline_id: str, x_between: tuple[float, float] | None = None
    ) -> float | None: ...
    def insert_membership(self, membership: Membership) -> None: ...
    def insert_edges(self, new_edges: Collection[Edge]) -> None: ...
    def delete_edge(self, parent_id: str, child_id: str) -> int: ...


def _marks(values: Collection[object]) -> str:
    return ", ".join("?" * len(values))


class EdgeWriteSession(RunWriteSession):
    """``EdgeWrites`` within one write transaction of one ``sqlite3`` connection."""

    def get_pipeline(self, pipeline_id: str) -> Pipeline | None:
        found = self._all("SELECT * FROM pipelines WHERE id = ?", (pipeline_id,))
        return rows.pipeline_from_row(found[0]) if found else None

    def node_tags_named_any(self, names: Collection[str]) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        wanted = list(dict.fromkeys(names))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = _marks(chunk)
            sql = f"{NODE_NAMES} WHERE nodes.id IN ({marks}) OR nodes.tag IN ({marks})"
            found += [(r["id"], r["tag"], r["pipeline_tag"]) for r in self._all(sql, chunk * 2)]
        return found

    def edges_into(self, child_ids: Iterable[str]) -> list[Edge]:
        ids = list(child_ids)
        sql = f"SELECT parent_id, child_id, slot FROM edges WHERE child_id IN ({_marks(ids)})"
        return [Edge(*row) for row in self._tuples(sql + " ORDER BY slot", ids)]

    def edges_below(self, node_ids: Collection[str]) -> list[Edge]:
        return self._reachable(node_ids, "parent_id", "child_id")

    def edges_above(self, node_ids: Collection[str]) -> list[Edge]:
        return self._reachable(node_ids, "child_id", "parent_id")

    def _reachable(self, node_ids: Collection[str], near: str, far: str) -> list[Edge]:
        """Every edge whose ``near`` end is one of ``node_ids`` or reached from them."""
        ids = list(node_ids)
        if not ids:
            return []
        marks = _marks(ids)
        sql = (
            f"WITH RECURSIVE reached(id) AS (SELECT {far} FROM edges WHERE {near} IN ({marks})"
            f" UNION SELECT edges.{far} FROM edges JOIN reached ON edges.{near} = reached.id)"
            f" SELECT parent_id, child_id, slot FROM edges WHERE {near} IN ({marks})"
            f" OR {near} IN (SELECT id FROM reached)"
        )
        return [Edge(*row) for row in self._tuples(sql, ids * 2)]

    def pipelines_showing(self, node_ids: Collection[str]) -> dict[str, list[str]]:
        ids = list(node_ids)
        result: dict[str, list[str]] = {node_id: [] for node_id in ids}
        sql = (
            f"SELECT node_id, pipeline_id FROM memberships WHERE node_id IN ({_marks(ids)})"
            " ORDER BY pipeline_id"
        )
        for node_id, pipeline_id in self._tuples(sql, ids):
            result[node_id].append(pipeline_id)
        return result

    def memberships_of(self, pipeline_id: str, node_ids: Collection[str]) -> dict[str, Membership]:
        found: dict[str, Membership] = {}
        wanted = list(dict.fromkeys(node_ids))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            sql = (
                "SELECT pipeline_id, node_id, x, y, group_id FROM memberships"
                f" WHERE pipeline_id = ? AND node_id IN ({_marks(chunk)})"
            )
            for row in self._all(sql, [pipeline_id, *chunk]):
                found[row["node_id"]] = rows.membership_from_row(row)
        return found

    def lowest_y(
        self, pipeline_id: str, x_between: tuple[float, float] | None = None
    ) -> float | None:
        sql = "SELECT max(y) FROM memberships WHERE pipeline_id = ?"
        parameters: list[object] = [pipeline_id]
        if x_between is not None:
            sql += " AND x > ? AND x < ?"
            parameters += list(x_between)
        found = self._tuples(sql, parameters)[0][0]
        return None if found is None else float(found)

    def insert_membership(self, membership: Membership) -> None:
        self._insert("memberships", [asdict(membership)])

    def insert_edges(self, new_edges: Collection[Edge]) -> None:
        self._insert("edges", [asdict(edge) for edge in new_edges])

    def delete_edge(self, parent_id: str, child_id: str) -> int:
        sql = "DELETE FROM edges WHERE parent_id = ? AND child_id = ?"
        return self._connection.execute(sql, (parent_id, child_id)).rowcount


@contextmanager
def edge_write_session(path: Path) -> Iterator[EdgeWriteSession]:
    """A write transaction on the SQLite store at ``path`` answering ``EdgeWrites``."""
    with write_session(path, EdgeWriteSession) as session:
        yield session
