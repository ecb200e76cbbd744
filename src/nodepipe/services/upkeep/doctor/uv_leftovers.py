"""What a stopped uv (or a build it ran) left in uv's private temporary folder.

nodepipe runs uv with ``TMPDIR`` set to ``.nodepipe/uv-tmp`` (``envs.uv``), and everything uv
starts inherits it: a package's build backend, the compiler it runs. A sync killed with its
builds (a power cut, ``kill -9`` of the process group, the out-of-memory killer) leaves their
temporary folders and files there, which nothing else removes.

Each entry but uv's project locks (``uv-<digest>.lock``: tiny, reused by every sync, and
removing one a uv is about to lock would let two syncs of one node run at once) is reported
with its size and how long ago anything in it last changed. ``--repair`` removes it only when,
checked again just before: no live process was started with that ``TMPDIR`` (a uv nodepipe
runs now, or something it started), no live process has its working folder, an open file or a
mapped file inside it, and nothing in it changed in the last hour. Processes this user may not
inspect are not seen; they cannot enter the 0700 folder either.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from nodepipe.envs.uv import PRIVATE_TMP
from nodepipe.services.upkeep.doctor.findings import Category, Finding
from nodepipe.services.upkeep.doctor.node_leftovers import remove_leftover
from nodepipe.services.upkeep.doctor.survey import Survey
from nodepipe.workspace.disk_usage import disk_used
from nodepipe.workspace.layout import WorkspaceLayout
from nodepipe.workspace.open_files import processes_started_with, processes_within

QUIET_FOR_S = 3600.0
"""How long nothing in an entry must have changed before ``--repair`` removes it."""
REMOVE = "remove"


def uv_tmp_dir(layout: WorkspaceLayout) -> Path:
    """uv's private temporary folder of the workspace (``UvRunner.private_tmp``)."""
    return layout.uv_cache_dir.parent / PRIVATE_TMP


@dataclass(frozen=True, slots=True)
class _Look:
    """One entry of uv's temporary folder, and why it must stay (None: it may go)."""

    path: Path
    quiet_for: float
    kept_because: str | None
    in_use: bool = False
    """Kept because a live process uses it (or may: a uv runs), not only because it is new."""


def find_uv_leftovers(survey: Survey) -> list[Finding]:
    found = []
    for look in _look(uv_tmp_dir(survey.context.layout)):
        what = (
            "temporary files of a uv command or a build it ran, last changed "
            f"{_duration(look.quiet_for)} ago"
        )
        size = disk_used(look.path)
        if look.kept_because is None:
            found.append(Finding(Category.UV_LEFTOVERS, str(look.path), what, size, REMOVE))
        else:
            category = Category.IN_USE if look.in_use else Category.UV_LEFTOVERS
            what += f"; left alone: {look.kept_because}"
            found.append(Finding(category, str(look.path), what, size))
    return found


def repair_uv_leftover(layout: WorkspaceLayout, finding: Finding) -> bool:
    """Remove the entry ``finding`` names if, looked at again now, it may go."""
    path = Path(finding.subject)
    folder = uv_tmp_dir(layout)
    if path.parent != folder:
        return False
    for look in _look(folder, [path]):
        if look.kept_because is None:
            remove_leftover(path)
            return True
    return False


def _look(folder: Path, only: list[Path] | None = None) -> list[_Look]:
    """Each entry of ``folder`` but uv's project locks (or those of ``only`` still there)."""
    try:
        entries = sorted(folder.iterdir()) if only is None else only
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries = [entry for entry in entries if os.path.lexists(entry) and not _uv_lock(entry)]
    if not entries:
        return []
    running = processes_started_with("TMPDIR", str(folder))
    users = processes_within(entries)
    now = time.time()
    looks = []
    for entry in entries:
        quiet_for = now - _last_change(entry)
        if running:
            why = f"uv is running ({', '.join(running)}) and may be using it"
            looks.append(_Look(entry, quiet_for, why, in_use=True))
        elif users[entry]:
            why = f"in use by {', '.join(users[entry])}"
            looks.append(_Look(entry, quiet_for, why, in_use=True))
        elif quiet_for < QUIET_FOR_S:
            why = "changed within the hour; a uv may still be using it"
            looks.append(_Look(entry, quiet_for, why))
        else:
            looks.append(_Look(entry, quiet_for, None))
    return looks


def _uv_lock(entry: Path) -> bool:
    return entry.name.startswith("uv-") and entry.name.endswith(".lock") and entry.is_file()


def _last_change(entry: Path) -> float:
    """The newest modification time of ``entry`` and anything in it (links not followed)."""
    try:
        newest = entry.lstat().st_mtime
    except OSError:
        return time.time()
    if entry.is_dir() and not entry.is_symlink():
        for directory, folders, files in os.walk(entry):
            for name in [*folders, *files]:
                try:
                    newest = max(newest, (Path(directory) / name).lstat().st_mtime)
                except OSError:
                    continue
    return newest


def _duration(seconds: float) -> str:
    """``45 seconds``, ``12 minutes``, ``5 hours``, ``3 days``: how long, roughly."""
    seconds = max(seconds, 0.0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"
