"""``nodepipe backup`` and ``nodepipe backup restore``: a consistent copy of the store, made
while other commands run, and putting one back.

A backup is written in a private folder nodepipe makes beside its destination (0700,
``.store-1a2b3c4d.tmp``: on the destination's file system, where no other user can put a link
in the way of the copy or of the ``-journal`` file SQLite writes beside it, as one could in a
shared folder such as ``/tmp``), flushed to disk, renamed into place and its folder flushed: a
backup that exists is complete. The rename never replaces anything (``no_replace``): a file
that appeared at a destination the user named while the backup was written is left as it is,
and the backup refused (its private folder removed); a timestamped name taken meanwhile moves
on to the next free one. A killed backup's private folder is removed by the next backup
to the same folder. The default destination is
``.nodepipe/backups/store-<UTC time>.sqlite`` (``.pgdump`` for PostgreSQL).

Restoring never deletes anything: the SQLite store it replaces is kept aside
(``store-replaced-<time>.sqlite``; ``store_files.replace_store`` says how a kill at any step
leaves a whole store in place), and a PostgreSQL store is dumped into the
backups folder first. It is refused while another process uses the store (a run, the web app):
that process would go on writing to the store it holds open.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.services.context import WorkspaceContext, locate_workspace
from nodepipe.services.identity import refuse_store_of_another
from nodepipe.store import backup as store_backup
from nodepipe.store.health import describe_store, sqlite_file
from nodepipe.workspace.backups import (
    BACKUP_PREFIX,
    SUFFIXES,
    backup_path_in,
    default_backup_path,
    list_backups,
)
from nodepipe.workspace.config import PRIVATE_DIR_MODE, read_config
from nodepipe.workspace.crash_points import crash_point, pause_point
from nodepipe.workspace.durable import CUT_SHORT_AGE_S, fsync_dir, fsync_file, write_aside
from nodepipe.workspace.layout import WorkspaceLayout
from nodepipe.workspace.no_replace import rename_no_replace
from nodepipe.workspace.open_files import processes_using
from nodepipe.workspace.rebuild_mark import clear_rebuild_mark
from nodepipe.workspace.store_files import companions, replace_store


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    dialect: str
    size: int


@dataclass(frozen=True, slots=True)
class Restored:
    backup: Path
    store: str
    """The store that now holds the backup's contents (its file, or host:port/database)."""
    previous: Path | None
    """Where the store it replaced went (moved aside, or dumped), if there was one."""


def back_up(context: WorkspaceContext, destination: Path | None = None) -> Backup:
    """Copy the workspace's store to ``destination`` (a new file, or a folder to put a
    timestamped one in; default ``.nodepipe/backups/``)."""
    dialect = context.store.dialect
    now = datetime.now(UTC)
    target = _target(context.layout, dialect, destination, now)
    url = context.store.url.render_as_string(hide_password=False)
    _remove_cut_short_copies(target.parent, f".{BACKUP_PREFIX}*.tmp")  # a killed backup's
    private = Path(tempfile.mkdtemp(prefix=f".{BACKUP_PREFIX}", suffix=".tmp", dir=target.parent))
    try:
        copy = private / target.name
        _copy(dialect, url, copy)
        crash_point(f"aside-written{target.suffix}")
        fsync_file(copy)
        pause_point("backup.written")
        named = target if destination is not None and target == destination.absolute() else None
        target = _put_in_place(copy, target, named, dialect, now)
        size = target.stat().st_size
    finally:
        shutil.rmtree(private, ignore_errors=True)
    fsync_dir(target.parent)
    return Backup(target, dialect, size)


def _put_in_place(
    copy: Path, target: Path, named: Path | None, dialect: str, when: datetime
) -> Path:
    """Rename the finished ``copy`` to ``target``, never replacing anything that appeared
    there while it was written: refused for the file the user ``named``; a timestamped name
    moves on to the next free one (``-2``...: another backup in the same second)."""
    for _ in range(100):
        try:
            rename_no_replace(copy, target)
            return target
        except FileExistsError:
            if named is not None:
                raise ConflictError(
                    f"{named} appeared while the backup was written (another process made it); "
                    "it was left as it is and no backup was made: name a new file or a folder, "
                    "and back up again"
                ) from None
            target = backup_path_in(target.parent, dialect, when)
    raise ConflictError(
        f"no free name for the backup in {target.parent}: others kept taking them; nothing was "
        "made there: back up again"
    )


def _copy(dialect: str, url: str, temporary: Path) -> None:
    if dialect == "sqlite":
        source = sqlite_file(url)
        assert source is not None
        store_backup.copy_sqlite(source, temporary)
    else:
        store_backup.pg_dump(url, temporary)


def _target(layout: WorkspaceLayout, dialect: str, destination: Path | None, now: datetime) -> Path:
    if destination is None:
        layout.backups_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        return default_backup_path(layout, dialect, now)
    destination = destination.absolute()
    if destination.is_dir():
        return backup_path_in(destination, dialect, now)
    if destination.exists() or destination.is_symlink():
        raise ConflictError(f"{destination} exists; name a new file or a folder")
    if not destination.parent.is_dir():
        raise InvalidInputError(  # not made for you: a mistyped folder would hide the backup
            f"no folder {destination.parent} to write the backup in: make it first, or name "
            "one that exists"
        )
    return destination


def backups(workspace: Path | str | None) -> list[Path]:
    """The backups in the workspace's ``.nodepipe/backups/``, oldest first (the store need
    not open: this is where to look when it does not)."""
    return list_backups(WorkspaceLayout(locate_workspace(workspace)))


def restore(workspace: Path | str | None, backup: Path) -> Restored:
    """Put the store copy ``backup`` back as the workspace's store (the store need not open)."""
    layout = WorkspaceLayout(locate_workspace(workspace))
    url = read_config(layout).resolved_store_url(layout)
    backup = backup.absolute()
    if not backup.is_file():
        raise InvalidInputError(f"no backup file {backup}")
    refuse_store_of_another(layout, url)  # never replace another workspace's store
    store = sqlite_file(url)
    if store is None:
        restored = _restore_postgresql(layout, url, backup)
    else:
        restored = _restore_sqlite(layout, store, backup)
    clear_rebuild_mark(layout)  # a cut-short rebuild's empty store is replaced whole
    return restored


def _restore_sqlite(layout: WorkspaceLayout, store: Path, backup: Path) -> Restored:
    if backup.suffix == SUFFIXES["postgresql"]:
        raise InvalidInputError(f"{backup} is a PostgreSQL dump; this workspace's store is SQLite")
    if store.exists() and backup.samefile(store):
        raise InvalidInputError(
            f"{backup} is this workspace's store itself, not a backup of it (restored over "
            "itself without its write-ahead log, its newest changes could be lost); nothing was "
            f"changed: restore one of its backups (in {layout.backups_dir})"
        )
    store_backup.check_sqlite_backup(backup)
    refuse_if_in_use(store)
    _remove_cut_short_copies(store.parent, f".{store.name}.*.tmp")  # a killed restore's
    staged = store.with_name(f".{store.name}.{os.urandom(4).hex()}.tmp")
    try:
        _copy_file(backup, staged)
        fsync_file(staged)
        crash_point("restore.staged")
        previous = replace_store(store, staged, "replaced")
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return Restored(backup, str(store), previous)


def _remove_cut_short_copies(folder: Path, pattern: str) -> None:
    """Remove the copies a killed backup or restore left in ``folder`` (a backup's private
    folder ``.store-1a2b3c4d.tmp``, a restore's ``.store.sqlite.1a2b3c4d.tmp``), but none that a
    process has open (another backup's copy being written) and nothing another user owns (in a
    shared folder, a name that looks like one is theirs)."""
    for leftover in folder.glob(pattern):
        try:
            found = leftover.lstat()
            if found.st_uid != os.getuid():
                continue
            if stat.S_ISDIR(found.st_mode):
                inside = list(leftover.iterdir())
                recent = time.time() - found.st_mtime < CUT_SHORT_AGE_S
                if not processes_using(inside) and (inside or not recent):
                    shutil.rmtree(leftover)  # never follows a link inside
            elif not processes_using([leftover]):
                leftover.unlink(missing_ok=True)
        except OSError:  # gone meanwhile, or not ours to remove: the backup goes on
            continue


def refuse_if_in_use(store: Path) -> None:
    """A ConflictError naming the processes that have the SQLite store open, if any."""
    users = processes_using([store, *companions(store)])
    if users:
        raise ConflictError(
            f"the store {store} is in use by {', '.join(users)}; stop it (a run, the web app) "
            "and try again"
        )


def _copy_file(source: Path, target: Path) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle, source.open("rb") as original:
        shutil.copyfileobj(original, handle)


def _restore_postgresql(layout: WorkspaceLayout, url: str, backup: Path) -> Restored:
    if backup.suffix == SUFFIXES["sqlite"]:
        raise InvalidInputError(
            f"{backup} is an SQLite store; this workspace's store is PostgreSQL"
        )
    store_backup.check_pg_backup(backup)
    users = store_backup.pg_other_sessions(url)
    if users:
        raise ConflictError(
            f"the store {describe_store(url)} is in use by {', '.join(users)}; stop it (a run, "
            "the web app) and restore again"
        )
    layout.backups_dir.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    _remove_cut_short_copies(layout.backups_dir, f".{BACKUP_PREFIX}*.tmp")  # a killed one's
    previous = default_backup_path(layout, "postgresql", datetime.now(UTC))
    write_aside(previous, lambda temporary: store_backup.pg_dump(url, temporary))
    crash_point("restore.dumped")
    store_backup.pg_restore(url, backup)  # one transaction: a kill in it changes nothing
    return Restored(backup, describe_store(url), previous)
