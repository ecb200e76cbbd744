"""Files of a workspace that others may read, and a password left in ``nodepipe.toml``.

``nodepipe.toml``, the store (and its WAL and shared-memory files), the store's password file
and every backup are 0600; ``.nodepipe/`` and its backups folder 0700. Workspaces made by an
older nodepipe have wider modes, and may hold the PostgreSQL password in ``nodepipe.toml``:
``--repair`` tightens the modes and moves the password to ``.nodepipe/store-password``.
"""

from __future__ import annotations

import stat
from pathlib import Path

from nodepipe.services.upkeep.doctor.findings import Category, Finding
from nodepipe.services.upkeep.doctor.survey import Survey
from nodepipe.store.health import sqlite_file
from nodepipe.workspace.backups import list_backups
from nodepipe.workspace.config import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    move_password_out,
    split_password,
)
from nodepipe.workspace.layout import WorkspaceLayout
from nodepipe.workspace.store_files import companions

MOVE_PASSWORD = "move the password to .nodepipe/store-password"


def private_paths(survey: Survey) -> list[Path]:
    """Everything that should be its owner's only."""
    layout = survey.context.layout
    store = sqlite_file(survey.context.config.resolved_store_url(layout))
    stores = sorted(layout.state_dir.glob("store*.sqlite*"))
    if store is not None:
        stores += [store, *companions(store)]
    return [
        layout.config_file,
        layout.state_dir,
        layout.store_password_file,
        layout.backups_dir,
        *list_backups(layout),
        *dict.fromkeys(stores),
    ]


def find_private_files(survey: Survey) -> list[Finding]:
    found = []
    for path in private_paths(survey):
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            wanted = _wanted_mode(path)
            what = f"mode {mode:04o}: other users may read it"
            action = f"make it private (mode {wanted:04o})"
            found.append(Finding(Category.PRIVATE_FILES, str(path), what, 0, action))
    if split_password(survey.context.config.store_url)[1] is not None:
        what = "holds the store's password"
        config_file = str(survey.context.layout.config_file)
        found.append(Finding(Category.PRIVATE_FILES, config_file, what, 0, MOVE_PASSWORD))
    return found


def repair_private_file(layout: WorkspaceLayout, finding: Finding) -> bool:
    if finding.action == MOVE_PASSWORD:
        return move_password_out(layout)
    path = Path(finding.subject)
    if not path.exists() or path.is_symlink():
        return False
    path.chmod(_wanted_mode(path))
    return True


def _wanted_mode(path: Path) -> int:
    return PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE
