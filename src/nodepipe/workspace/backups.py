"""Where ``nodepipe backup`` puts copies of the store by default, and finding the newest.

```
<root>/.nodepipe/backups/store-20250301T101500Z.sqlite   an SQLite store (online backup API)
<root>/.nodepipe/backups/store-20250301T101500Z.pgdump   a PostgreSQL store (pg_dump, custom)
```
The folder is 0700 and each backup 0600: a backup holds everything the store does.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nodepipe.workspace.layout import WorkspaceLayout

BACKUP_PREFIX = "store-"
SUFFIXES = {"sqlite": ".sqlite", "postgresql": ".pgdump"}


def timestamp(when: datetime) -> str:
    """``20250301T101500Z``: a UTC time in file names, sorting as it happened."""
    return when.strftime("%Y%m%dT%H%M%SZ")


def backup_path_in(folder: Path, dialect: str, when: datetime) -> Path:
    """A new timestamped backup name in ``folder`` (``-2``, ``-3`` … if already taken)."""
    return free_name(folder, BACKUP_PREFIX + timestamp(when), SUFFIXES[dialect])


def default_backup_path(layout: WorkspaceLayout, dialect: str, when: datetime) -> Path:
    return backup_path_in(layout.backups_dir, dialect, when)


def free_name(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem+suffix``, or with ``-2``, ``-3`` … before the suffix if that is taken."""
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


def list_backups(layout: WorkspaceLayout) -> list[Path]:
    """The backups in ``.nodepipe/backups/``, oldest first."""
    try:
        found = [
            path
            for path in layout.backups_dir.iterdir()
            if path.name.startswith(BACKUP_PREFIX) and path.suffix in SUFFIXES.values()
        ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found, key=lambda path: (path.stat().st_mtime_ns, path.name))


def newest_backup(layout: WorkspaceLayout) -> Path | None:
    found = list_backups(layout)
    return found[-1] if found else None
