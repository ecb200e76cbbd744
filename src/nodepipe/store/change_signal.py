"""Whether anything was written to the store since a moment: a token that differs after any commit.

A long-lived process (the web app) keeps answers it built from the store and serves them again
while ``StoreChanges.token()`` is what it was when they were built. The token never stays the
same across a committed change, from this process or any other; it may change when nothing the
answer shows did (that costs a rebuild, never a wrong answer).

- SQLite: ``PRAGMA data_version`` on a connection of its own that never writes. SQLite changes
  it whenever another connection (of any process, this one's included) commits to the file.
  The file's identity, size and modification time come along: a store file replaced by another
  (``doctor --rebuild``, a restore) is a new file that connection would never look at.
- PostgreSQL: the current snapshot (``txid_current_snapshot()``: the oldest transaction still
  running, the next one to complete, and those running between). Two equal snapshots mean no
  transaction finished in between, so everything visible then is visible now. Any write of the
  server (any database of it) changes it: again a rebuild, never a stale answer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.store.light_read import connect

if TYPE_CHECKING:
    import sqlalchemy as sa


class StoreChanges:
    """Tokens of the store's state (thread-safe: request threads ask at once)."""

    def __init__(self, sqlite_file: Path | None, engine: Callable[[], sa.Engine]) -> None:
        self._file = sqlite_file
        self._engine = engine
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def token(self) -> Hashable:
        """A value that differs from every earlier one once a change was committed."""
        if self._file is None:
            return self._snapshot()
        with self._lock:
            info = self._file.stat()
            if self._connection is None:
                self._connection = connect(self._file)
            version = self._connection.execute("PRAGMA data_version").fetchone()["data_version"]
            return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, version)

    def _snapshot(self) -> Hashable:
        import sqlalchemy as sa

        with self._engine().connect() as connection:
            return str(connection.execute(sa.text("SELECT txid_current_snapshot()")).scalar())

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
