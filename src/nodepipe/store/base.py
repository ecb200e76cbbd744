"""The connection-holding base of ``StoreSession``: execute a statement, fetch rows."""

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
