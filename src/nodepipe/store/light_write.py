"""The writes of a run (its claim and its progress), through ``sqlite3`` on the embedded store.

A run writes a handful of statements: the claim inserts the run and a node run per planned
node and queues the nodes; the recorder then writes batches of progress (``RunUpdates``).
Importing SQLAlchemy for them would cost a 20-node run about as much CPU as launching its
nodes, so on an SQLite store ``Store.run_write()`` is this module's ``RunWriteSession``: one
``sqlite3`` connection set up as the engine sets up its own (foreign keys on, full sync, the
same busy timeout), in one ``BEGIN IMMEDIATE`` transaction committed on success and rolled
back on any exception, answering the reads of ``light_read`` too (the claim plans again in
its transaction). Values are stored as SQLAlchemy stores them (timestamps as UTC text,
booleans as 0/1, enums by value, reasons as JSON, through ``changes.column_values``);
``tests/contract/test_light_read.py`` writes the same run through both paths and compares
the rows byte for byte. On PostgreSQL ``run_write()`` is an ordinary ``write()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.runs import NodeRun, Run
from nodepipe.domain.states import NodeState
from nodepipe.store.changes import Previous, RunUpdates, column_values, previous_rows
from nodepipe.store.light_read import LightReads, LightReadSession, connect

_STORED_TIME = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy's SQLite dialect stores a timestamp (``store.schema.UtcDateTime``: UTC)."""


class RunWrites(LightReads, Protocol):
    """What a run's claim and recorder write (``StoreSession`` and ``RunWriteSession``)."""

    def insert_run(self, run: Run) -> None: ...
    def insert_node_runs(
        self, many: Sequence[NodeRun], previous: Previous | None = None
    ) -> None: ...
    def set_states(self, reasons: dict[str, str], state: NodeState) -> None: ...
    def apply_run_updates(self, updates: RunUpdates) -> None: ...


def _stored(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("nodepipe stores only time-zone-aware timestamps")
        return value.astimezone(UTC).strftime(_STORED_TIME)
    return value


def _row(values: Mapping[str, Any]) -> dict[str, object]:
    return {name: _stored(value) for name, value in column_values(values).items()}


class RunWriteSession(LightReadSession):
    """``RunWrites`` within one write transaction of one ``sqlite3`` connection."""

    def _insert(self, table: str, rows: Sequence[Mapping[str, object]]) -> None:
        if rows:
            columns = list(rows[0])
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            )
            self._connection.executemany(sql, rows)

    def _update(self, table: str, rows: Sequence[Mapping[str, object]]) -> None:
        """``UPDATE table SET … WHERE id = :b_id`` for rows of the same columns."""
        if rows:
            columns = [c for c in rows[0] if c != "b_id"]
            assignments = ", ".join(f"{c} = :{c}" for c in columns)
            sql = f"UPDATE {table} SET {assignments} WHERE id = :b_id"
            self._connection.executemany(sql, rows)

    def insert_run(self, run: Run) -> None:
        self._insert("runs", [_row(asdict(run))])

    def insert_node_runs(self, many: Sequence[NodeRun], previous: Previous | None = None) -> None:
        fields = NodeRun.__dataclass_fields__
        self._insert("node_runs", [_row({f: getattr(nr, f) for f in fields}) for nr in many])
        self._insert("node_run_previous_states", previous_rows(many, previous))

    def set_states(self, reasons: dict[str, str], state: NodeState) -> None:
        rows = [
            {"b_id": node_id, "state": state.value, "state_reason": reason}
            for node_id, reason in reasons.items()
        ]
        self._update("nodes", rows)

    def apply_run_updates(self, updates: RunUpdates) -> None:
        for table, changes in (
            ("node_runs", updates.node_runs),
            ("nodes", updates.nodes),
            ("runs", updates.runs),
        ):
            by_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
            for row_id, values in changes.items():
                row = {"b_id": row_id, **{k: _stored(v) for k, v in values.items()}}
                by_columns.setdefault(tuple(values), []).append(row)
            for rows in by_columns.values():
                self._update(table, rows)
        self._insert_environments(updates.environments)

    def _insert_environments(self, recorded: dict[str, RunEnvironment]) -> None:
        self._insert(
            "node_run_environments",
            [
                {
                    "node_run_id": i,
                    "python": e.python,
                    "platform": e.platform,
                    "code": e.code,
                    "interpreter": e.interpreter,
                }
                for i, e in recorded.items()
            ],
        )
        self._insert(
            "node_run_locks",
            [
                {"node_run_id": i, "kind": kind, "sha256": digest}
                for i, e in recorded.items()
                for kind, digest in e.locks.items()
            ],
        )


_Session = TypeVar("_Session", bound=RunWriteSession)


@contextmanager
def run_write_session(path: Path) -> Iterator[RunWriteSession]:
    """A run's write transaction on the SQLite store at ``path`` (``write_session``)."""
    with write_session(path, RunWriteSession) as session:
        yield session


@contextmanager
def write_session(path: Path, kind: type[_Session]) -> Iterator[_Session]:
    """A write transaction on the SQLite store at ``path``, as a ``kind`` session: committed
    when the block ends, rolled back if it raises."""
    connection = connect(path)
    try:
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield kind(connection)
        except BaseException:
            if connection.in_transaction:  # SQLite may have rolled back already (a full disk)
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()
