"""Database errors become nodepipe errors at the store boundary, never tracebacks.

Every transaction (``Store.read``/``Store.write``) and every check made on opening runs inside
``StoreFailures.translated``:

- an SQLite file found damaged while it is read (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``) is a
  ``WorkspaceError`` naming the file, with a hint of what to do (the advice comes from the
  workspace: restore its newest backup, or rebuild the store from the node folders);
- a PostgreSQL server that cannot be reached is a ``WorkspaceError`` naming host and port;
- anything else the database could not do (a full disk, a read-only file, a lock held too long)
  is a ``StorageError``.

The same holds for ``sqlite3``'s own errors, raised by the read path without SQLAlchemy
(``store.light_read``). Constraint violations are not translated: nodepipe checks its rules
before it writes, so one reaching here is a bug and should show as one.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nodepipe.domain.errors import Hint, NodepipeError, StorageError, WorkspaceError
from nodepipe.store.health import ProblemKind, StoreProblem, describe_store, sqlite_file

_DAMAGE = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


class UnusableStoreError(WorkspaceError):
    """The store is missing, damaged, holds no nodepipe tables, or its server cannot be
    reached; ``problem`` says which."""

    def __init__(self, message: str, problem: StoreProblem, *, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problem = problem


def _first_line(error: BaseException, password: str | None) -> str:
    from nodepipe.domain.url_credentials import text_without_password  # only on a failure

    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text_without_password(text, password)


class StoreFailures:
    """Turns the database errors of one store into nodepipe errors with the right advice."""

    def __init__(self, url: str, advice: Callable[[], Hint | None]) -> None:
        self._postgresql = url.startswith("postgresql")
        self._password = _password(url) if self._postgresql else None
        self.where = describe_store(url)
        self._file = sqlite_file(url)
        self._advice = advice

    def unusable(self, problem: StoreProblem) -> UnusableStoreError:
        """The error for a store that is missing, damaged or holds no nodepipe tables."""
        message = f"the store {self.where} {problem.detail}"
        return UnusableStoreError(message, problem, hint=self._advice())

    @contextmanager
    def translated(self) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            translated = self.translate(error)
            if translated is None:
                raise
            raise translated from error

    def translate(self, error: BaseException) -> NodepipeError | None:
        """The nodepipe error for a database error (SQLAlchemy's, or ``sqlite3``'s own), None
        for anything else."""
        sa_errors = sys.modules.get("sqlalchemy.exc")  # imported only if SQLAlchemy is
        if sa_errors is not None and isinstance(error, sa_errors.DBAPIError):
            cause: BaseException = error.orig if error.orig is not None else error
            operational = isinstance(error, sa_errors.OperationalError)
        elif isinstance(error, sqlite3.Error):
            cause, operational = error, isinstance(error, sqlite3.OperationalError)
        else:
            return None
        reason = _first_line(cause, self._password)
        # a ProgrammingError (a value SQLite cannot bind) has no sqlite_errorname
        damage = getattr(cause, "sqlite_errorname", None) in _DAMAGE
        if isinstance(cause, sqlite3.DatabaseError) and damage:
            return self.unusable(StoreProblem(ProblemKind.DAMAGED, f"is damaged ({reason})"))
        if not operational:
            return None
        if self._postgresql:
            detail = f"cannot be reached ({reason})"
            return UnusableStoreError(
                f"the PostgreSQL store {self.where} {detail}; check that the server runs and "
                "accepts connections, and the URL in nodepipe.toml or $NODEPIPE_DB_URL",
                StoreProblem(ProblemKind.UNREACHABLE, detail),
            )
        unwritable = _unwritable(self._file) if self._file is not None else []
        if unwritable:
            names = ", ".join(unwritable)
            return StorageError(
                f"the store {self.where} could not be written ({reason}): this user may not "
                f"write {names}; make them writable (chmod u+w), then run the command again"
            )
        return StorageError(
            f"the store {self.where} could not be read or written ({reason}); free some space, "
            "or check the file's permissions"
        )


def _unwritable(store: Path) -> list[str]:
    """What SQLite must write beside a store and this user may not: the file, its write-ahead
    log (``-wal``) and shared memory (``-shm``; made with the store's mode when it was
    read-only, it stays so after the store is made writable again), their folder."""
    found = [store.parent] if not os.access(store.parent, os.W_OK) else []
    for path in (store, store.with_name(f"{store.name}-wal"), store.with_name(f"{store.name}-shm")):
        if path.exists() and not os.access(path, os.W_OK):
            found.append(path)
    return [str(path) for path in found]


def _password(url: str) -> str | None:
    """The password of the PostgreSQL store ``url``; WorkspaceError for a URL SQLAlchemy
    cannot read (a port that is no number, an unknown driver), its password masked."""
    import sqlalchemy as sa  # a PostgreSQL store: SQLAlchemy talks to it

    try:
        parsed = sa.engine.make_url(url)
        parsed.get_dialect()  # its driver: "postgresql+nodriver://" is refused here
    except (ValueError, sa.exc.ArgumentError) as error:
        from nodepipe.domain.url_credentials import text_without_password  # only on a failure

        raise WorkspaceError(
            f"the store URL {text_without_password(url, None)} cannot be read "
            f"({_first_line(error, None)}); correct it in nodepipe.toml or $NODEPIPE_DB_URL "
            "(postgresql+psycopg://USER@HOST:PORT/DATABASE)"
        ) from None
    return None if parsed.password is None else str(parsed.password)
