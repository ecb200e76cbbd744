"""Outputs are never half-written: a run writes a staging folder that replaces data/ on success.

```
<node>/data/                   the last good outputs
<node>/.staging/<run>/         what the running node writes (NODEPIPE_DATA_DIR)
<node>/.staging/<run>.previous the old data/ for the instant of the swap
```
The swap is two renames on one filesystem. If a crash falls between them, ``repair`` puts the
previous outputs back, so data/ always holds one complete set of outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nodepipe.workspace.node_folder import NodeFolder

STAGING = ".staging"
PREVIOUS_SUFFIX = ".previous"


def staging_dir(folder: NodeFolder, node_run_id: str) -> Path:
    return folder.path / STAGING / node_run_id


def open_staging(folder: NodeFolder, node_run_id: str) -> Path:
    """A fresh, empty staging folder for one node run."""
    staging = staging_dir(folder, node_run_id)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def promote(folder: NodeFolder, node_run_id: str) -> None:
    """Make the staging folder the node's data/ (the old outputs are removed afterwards)."""
    staging = staging_dir(folder, node_run_id)
    previous = staging.with_name(staging.name + PREVIOUS_SUFFIX)
    if folder.data.exists():
        folder.data.rename(previous)
    staging.rename(folder.data)
    shutil.rmtree(previous, ignore_errors=True)


def discard(folder: NodeFolder, node_run_id: str) -> None:
    """Drop what a failed or killed run wrote; data/ stays as it was."""
    shutil.rmtree(staging_dir(folder, node_run_id), ignore_errors=True)


def repair(folder: NodeFolder) -> None:
    """After a crash: restore data/ from an interrupted swap and drop stale staging folders."""
    root = folder.path / STAGING
    if not root.is_dir():
        return
    for leftover in sorted(root.iterdir()):
        if leftover.name.endswith(PREVIOUS_SUFFIX) and not folder.data.exists():
            leftover.rename(folder.data)
        else:
            shutil.rmtree(leftover, ignore_errors=True)
