"""The read queries of ``status``, a no-change ``run`` and the plain read commands, through
the standard library's ``sqlite3``: a read command on the embedded store never imports SQLAlchemy.

Importing SQLAlchemy costs a read command about half of its start-up (its engine, its SQL
compiler, asyncio through its async dialects), while ``status`` needs a dozen plain
``SELECT``s. So ``Store.light_read()`` answers the read queries listed in ``LightReads``:
on an SQLite store with this module's ``LightReadSession`` (one ``sqlite3`` connection in one
read transaction, ``BEGIN`` … ``ROLLBACK``), on PostgreSQL with the ordinary
``StoreSession``. Each query here is the SQL that ``store.queries`` builds with SQLAlchemy
Core, written out, and rows become domain values through the same ``store.rows``;
``tests/contract/test_light_read.py`` runs both on the same store and asserts the same
answers, so the two cannot drift. Everything that writes, and every other read, goes through
SQLAlchemy (imported then).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import starmap
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nodepipe.domain.model import Edge, Group, Lineage, Membership, Node, Pipeline, Project
from nodepipe.domain.runs import NodeRun, Run, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.store import rows

if TYPE_CHECKING:
    from nodepipe.store.graph_journal import Mark

_TIMES = frozenset({"created_at", "finished_at", "started_at", "updated_at"})
_STATES = {state.value: state for state in NodeState}
_NODE = "id, tag, notes, state, state_reason, locked, owner_pipeline_id, created_at"
MEMBER_NODE_COLUMNS = tuple(_NODE.split(", "))
"""The node's columns of a ``MemberRow``, in its order."""
_MEMBER = (
    f"SELECT {', '.join(f'nodes.{c}' for c in MEMBER_NODE_COLUMNS)}, memberships.x,"
    " memberships.y, memberships.group_id{more} FROM nodes"
    " JOIN memberships ON memberships.node_id = nodes.id"
    " WHERE memberships.pipeline_id = ?"
)
_BY_TAG = itemgetter(1, 0)
"""``ORDER BY nodes.tag, nodes.id`` for the rows of ``_MEMBER``, sorted here: SQLite's sorter
would copy each whole row (the fingerprint's text with it), Python's moves references. The same
order: SQLite's BINARY collation compares the UTF-8 bytes, whose order is the code points'."""
MemberRow = tuple[Any, ...]
"""A node shown in a pipeline as the database gives it (``member_rows``): its id, tag, notes,
state, state reason, locked, owner pipeline, creation time, x, y, group, stored fingerprint and
output digest. Two equal rows make equal values (``member_of``): the web app compares the rows of
10,000 nodes with the last ones it read and makes values only of the rows that differ."""
EdgeRow = tuple[str, str, str]
"""An edge as ``edge_rows`` gives it: its parent, child and slot."""
_EDGES = (
    "SELECT parent_id, child_id, slot FROM edges WHERE child_id IN"
    " (SELECT node_id FROM memberships WHERE pipeline_id = ?)"
)
NODE_NAMES = (
    "SELECT nodes.id, nodes.tag, pipelines.tag AS pipeline_tag FROM nodes"
    " JOIN memberships ON memberships.node_id = nodes.id"
    " JOIN pipelines ON pipelines.id = memberships.pipeline_id"
)


class LightReads(Protocol):
    """The read queries both sessions answer (``StoreSession`` and ``LightReadSession``)."""

    def get_project(self, project_id: str) -> Project | None: ...
    def list_projects(self) -> list[Project]: ...
    def get_pipelines(self, pipeline_ids: Collection[str]) -> dict[str, Pipeline]: ...
    def list_pipelines(self, project_id: str | None = None) -> list[Pipeline]: ...
    def lineage(self, pipeline_ids: Collection[str] | None = None) -> list[Lineage]: ...
    def get_node(self, node_id: str) -> Node | None: ...
    def list_nodes(self, pipeline_id: str | None = None) -> list[Node]: ...
    def get_nodes(self, node_ids: Collection[str]) -> dict[str, Node]: ...
    def node_tags_named(self, name: str) -> list[tuple[str, str, str]]: ...
    def node_tags_with_pipelines(self) -> list[tuple[str, str, str]]: ...
    def pipeline_members(self, pipeline_id: str) -> list[tuple[Node, Membership]]: ...
    def member_rows(self, pipeline_id: str) -> list[MemberRow]: ...
    def member_rows_of(self, pipeline_id: str, node_ids: Collection[str]) -> list[MemberRow]: ...
    def edges_of_pipeline(self, pipeline_id: str) -> list[Edge]: ...
    def edge_rows(self, pipeline_id: str) -> list[EdgeRow]: ...
    def edge_rows_into(self, pipeline_id: str, node_ids: Collection[str]) -> list[EdgeRow]: ...
    def graph_changes(self, since: Mark | None) -> tuple[Mark, frozenset[str] | None]: ...
    def code_point_order(self) -> bool: ...
    def groups_of_pipeline(self, pipeline_id: str) -> list[Group]: ...
    def pipeline_inputs(self, pipeline_id: str) -> dict[str, tuple[str, ...]]: ...
    def include_origins(self, pipeline_id: str) -> dict[str, tuple[str, str]]: ...
    def node_fingerprints(
        self, node_ids: Collection[str]
    ) -> dict[str, tuple[str | None, str | None]]: ...
    def runs_with_status(self, status: RunStatus) -> list[Run]: ...
    def list_runs(self, pipeline_id: str | None = None, limit: int = 50) -> list[Run]: ...
    def node_runs_of_node(self, node_id: str, limit: int = 20) -> list[NodeRun]: ...


def _timestamp(text: str) -> datetime:
    """A timestamp as SQLAlchemy's SQLite dialect stores it (UTC, no offset)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def member_of(pipeline_id: str, row: MemberRow) -> tuple[Node, Membership]:
    """The node and membership of a ``member_rows`` row (of either session)."""
    x, y, group_id = row[8:11]
    return node_of(row), Membership(pipeline_id, row[0], float(x), float(y), group_id)


def node_of(row: tuple[Any, ...]) -> Node:
    """The node of a row opening with the columns ``MEMBER_NODE_COLUMNS`` (of either session)."""
    i, tag, notes, state, reason, locked, owner, at = row[:8]
    created = at if isinstance(at, datetime) else _timestamp(at)
    return Node(i, tag, notes, _STATES[state], reason, bool(locked), owner, created)


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> dict[str, Any]:
    """A row as a mapping of column names, timestamps read back as aware datetimes."""
    return {
        column[0]: _timestamp(value) if column[0] in _TIMES and value is not None else value
        for column, value in zip(cursor.description, values, strict=True)
    }


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


class LightReadSession:
    """``LightReads`` within one read transaction of one ``sqlite3`` connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def _all(self, sql: str, parameters: Sequence[object] = ()) -> list[dict[str, Any]]:
        return self._connection.execute(sql, parameters).fetchall()

    def _tuples(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples, in the order of the selected columns: the large answers (a
        view's nodes and edges) are read without a mapping per row."""
        cursor = self._connection.cursor()
        cursor.row_factory = None
        try:
            return cursor.execute(sql, parameters).fetchall()
        finally:
            cursor.close()

    def get_project(self, project_id: str) -> Project | None:
        found = self._all("SELECT * FROM projects WHERE id = ?", (project_id,))
        return rows.project_from_row(found[0]) if found else None

    def list_projects(self) -> list[Project]:
        return [rows.project_from_row(r) for r in self._all("SELECT * FROM projects ORDER BY name")]

    def get_pipelines(self, pipeline_ids: Collection[str]) -> dict[str, Pipeline]:
        ids = list(pipeline_ids)
        found = self._all(f"SELECT * FROM pipelines WHERE id IN ({_marks(ids)})", ids)
        return {r["id"]: rows.pipeline_from_row(r) for r in found}

    def list_pipelines(self, project_id: str | None = None) -> list[Pipeline]:
        where, parameters = ("WHERE project_id = ? ", (project_id,)) if project_id else ("", ())
        found = self._all(f"SELECT * FROM pipelines {where}ORDER BY tag", parameters)
        return [rows.pipeline_from_row(r) for r in found]

    def lineage(self, pipeline_ids: Collection[str] | None = None) -> list[Lineage]:
        sql, ids = "SELECT * FROM pipeline_lineage", list(pipeline_ids or ())
        if pipeline_ids is not None:
            sql += f" WHERE pipeline_id IN ({_marks(ids)}) OR source_pipeline_id IN ({_marks(ids)})"
        return [rows.lineage_from_row(r) for r in self._all(sql, ids + ids)]

    def get_node(self, node_id: str) -> Node | None:
        found = self._all(f"SELECT {_NODE} FROM nodes WHERE id = ?", (node_id,))
        return rows.node_from_row(found[0]) if found else None

    def list_nodes(self, pipeline_id: str | None = None) -> list[Node]:
        columns = ", ".join(f"nodes.{c}" for c in _NODE.split(", "))
        sql, parameters = (
            f"SELECT {columns} FROM nodes",
            [] if pipeline_id is None else [pipeline_id],
        )
        if pipeline_id is not None:
            sql += " JOIN memberships ON memberships.node_id = nodes.id WHERE pipeline_id = ?"
        found = self._all(sql + " ORDER BY nodes.tag, nodes.id", parameters)
        return [rows.node_from_row(r) for r in found]

    def get_nodes(self, node_ids: Collection[str]) -> dict[str, Node]:
        ids = list(node_ids)
        found = self._tuples(f"SELECT {_NODE} FROM nodes WHERE id IN ({_marks(ids)})", ids)
        return {row[0]: node_of(row) for row in found}  # tuples: a no-change run reads 10,000

    def node_tags_named(self, name: str) -> list[tuple[str, str, str]]:
        found = self._all(f"{NODE_NAMES} WHERE nodes.id = ? OR nodes.tag = ?", (name, name))
        return [(r["id"], r["tag"], r["pipeline_tag"]) for r in found]

    def node_tags_with_pipelines(self) -> list[tuple[str, str, str]]:
        return [(r["id"], r["tag"], r["pipeline_tag"]) for r in self._all(NODE_NAMES)]

    def pipeline_members(self, pipeline_id: str) -> list[tuple[Node, Membership]]:
        found = self._tuples(_MEMBER.format(more=""), (pipeline_id,))
        return [member_of(pipeline_id, row) for row in sorted(found, key=_BY_TAG)]

    def member_rows(self, pipeline_id: str) -> list[MemberRow]:
        more = ", nodes.fingerprint, nodes.output_digest"
        found = self._tuples(_MEMBER.format(more=more), (pipeline_id,))
        found.sort(key=_BY_TAG)
        return found

    def member_rows_of(self, pipeline_id: str, node_ids: Collection[str]) -> list[MemberRow]:
        """``member_rows`` of the nodes ``node_ids`` that the pipeline shows."""
        ids = list(node_ids)
        more = ", nodes.fingerprint, nodes.output_digest"
        sql = _MEMBER.format(more=more) + f" AND nodes.id IN ({_marks(ids)})"
        found = self._tuples(sql, (pipeline_id, *ids))
        found.sort(key=_BY_TAG)
        return found

    def edges_of_pipeline(self, pipeline_id: str) -> list[Edge]:
        return list(starmap(Edge, self.edge_rows(pipeline_id)))

    def edge_rows(self, pipeline_id: str) -> list[EdgeRow]:
        return self._tuples(_EDGES + " ORDER BY slot, child_id", (pipeline_id,))

    def edge_rows_into(self, pipeline_id: str, node_ids: Collection[str]) -> list[EdgeRow]:
        """``edge_rows`` into the nodes ``node_ids``."""
        ids = list(node_ids)
        sql = f"{_EDGES} AND child_id IN ({_marks(ids)}) ORDER BY slot, child_id"
        return self._tuples(sql, (pipeline_id, *ids))

    def graph_changes(self, since: Mark | None) -> tuple[Mark, frozenset[str] | None]:
        """The journal's mark now and the nodes changed since ``since``
        (``graph_journal.journal_since``; imported here: a read command never asks)."""
        from nodepipe.store.graph_journal import journal_since

        return journal_since(self._tuples, False, since)

    def code_point_order(self) -> bool:
        return True  # SQLite's BINARY collation

    def groups_of_pipeline(self, pipeline_id: str) -> list[Group]:
        found = self._all(
            "SELECT * FROM groups WHERE pipeline_id = ? ORDER BY name", (pipeline_id,)
        )
        return [rows.group_from_row(r) for r in found]

    def include_origins(self, pipeline_id: str) -> dict[str, tuple[str, str]]:
        found = self._tuples(
            "SELECT include_members.node_id, pipeline_includes.namespace,"
            " pipeline_includes.location FROM include_members JOIN pipeline_includes"
            " ON pipeline_includes.id = include_members.include_id"
            " WHERE pipeline_includes.pipeline_id = ?",
            (pipeline_id,),
        )
        return rows.origin_of(found)

    def pipeline_inputs(self, pipeline_id: str) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for name, node_id in self._tuples(
            "SELECT name, node_id FROM pipeline_inputs WHERE pipeline_id = ?"
            " ORDER BY name, node_id",
            (pipeline_id,),
        ):
            found.setdefault(name, []).append(node_id)
        return {name: tuple(ids) for name, ids in found.items()}

    def node_fingerprints(
        self, node_ids: Collection[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        ids = list(node_ids)
        sql = f"SELECT id, fingerprint, output_digest FROM nodes WHERE id IN ({_marks(ids)})"
        return {i: (fingerprint, digest) for i, fingerprint, digest in self._tuples(sql, ids)}

    def runs_with_status(self, status: RunStatus) -> list[Run]:
        found = self._all("SELECT * FROM runs WHERE status = ?", (status.value,))
        return [rows.run_from_row(r) for r in found]

    def list_runs(self, pipeline_id: str | None = None, limit: int = 50) -> list[Run]:
        where, parameters = ("WHERE pipeline_id = ? ", [pipeline_id]) if pipeline_id else ("", [])
        sql = f"SELECT * FROM runs {where}ORDER BY created_at DESC LIMIT ?"
        return [rows.run_from_row(r) for r in self._all(sql, [*parameters, limit])]

    def node_runs_of_node(self, node_id: str, limit: int = 20) -> list[NodeRun]:
        sql = "SELECT * FROM node_runs WHERE node_id = ? ORDER BY created_at DESC LIMIT ?"
        return [rows.node_run_from_row(r) for r in self._all(sql, (node_id, limit))]


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the existing store file (never creating one), as the engine makes."""
    uri = f"{path.absolute().as_uri()}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
    connection.isolation_level = None  # we emit BEGIN ourselves
    connection.row_factory = _row
    return connection


@contextmanager
def light_session(path: Path) -> Iterator[LightReadSession]:
    """A read transaction on the SQLite store at ``path``: one snapshot for every query."""
    connection = connect(path)
    try:
        connection.execute("BEGIN")
        yield LightReadSession(connection)
    finally:
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        finally:
            connection.close()


def stored_revision(connection: sqlite3.Connection) -> str | None:
    """The schema revision of the SQLite store ``connection`` is open on (None: it holds no
    tables), read without Alembic or SQLAlchemy: opening a current store costs one query."""
    try:
        found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return None
        raise
    return str(found[0]["version_num"]) if found else None


def stored_identity(connection: sqlite3.Connection) -> tuple[str, str] | None:
    """The workspace id and recorded root the SQLite store ``connection`` is open on carries
    (``schema.workspace_identity``), or None while it has none: one query."""
    found = connection.execute(
        "SELECT workspace_id, root FROM workspace_identity WHERE id = 1"
    ).fetchall()
    return (str(found[0]["workspace_id"]), str(found[0]["root"])) if found else None
