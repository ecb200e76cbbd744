"""The connection-holding base of ``StoreSession``: execute a statement, fetch rows, and the
shape of the batched ``UPDATE … WHERE id = :b_id`` statements."""

from __future__ import annotations

import sqlalchemy as sa


class QueryBase:
    """Holds the transaction's connection; subclasses add the queries."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def _all(self, statement: sa.Executable) -> list[sa.RowMapping]:
        return list(self._connection.execute(statement).mappings())

    def _one(self, statement: sa.Executable) -> sa.RowMapping | None:
        return self._connection.execute(statement).mappings().first()

    def _execute(self, statement: sa.Executable) -> int:
        return self._connection.execute(statement).rowcount


def update_by_id(table: sa.Table, *columns: str) -> sa.Update:
    """``UPDATE table SET col = :col ... WHERE id = :b_id``, built once, run with executemany."""
    return (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values({column: sa.bindparam(column) for column in columns})
    )
