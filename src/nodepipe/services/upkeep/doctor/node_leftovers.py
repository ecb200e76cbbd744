"""Leftovers inside and beside node folders: unsettled promotions in ``<node>/.staging``,
half-built or replaced environments and conda prefixes (``.venv.building-*``,
``.conda.old-*``...), saves a kill cut short (``code/.pyproject.toml.1a2b3c4d.tmp``), and
Jupyter kernels of nodes that are gone.

A node queued or running (in the store) is never touched: its run settles its own files, or,
when that run's process died, crash recovery does. Settling is what the next run of the node
would do (``workspace.output_swap``): a promotion whose swap happened is finished (the old
outputs go), any other is undone (the previous outputs back in ``data/``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

from nodepipe.domain.states import ACTIVE_STATES
from nodepipe.envs.kernels import kernel_name, kernels_dir, remove_kernel_folder
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.upkeep.doctor.findings import Category, Finding
from nodepipe.services.upkeep.doctor.survey import Survey
from nodepipe.workspace.code_trees import is_excluded_path, is_write_aside
from nodepipe.workspace.disk_usage import disk_used
from nodepipe.workspace.durable import CUT_SHORT_AGE_S, cut_short_saves
from nodepipe.workspace.output_swap import (
    PREVIOUS_SUFFIX,
    PROMOTING_SUFFIX,
    STAGING,
    settle_leftovers,
)

SETTLE = "settle: keep the outputs the store records, remove the rest"
ENV_LEFTOVER_PATTERNS = (".venv.building-*", ".venv.old-*", ".conda.building-*", ".conda.old-*")


def find_promotion_leftovers(survey: Survey) -> list[Finding]:
    found = []
    for node_id, node in survey.rows.items():
        folder = survey.folders.get(node_id)
        if folder is None or node.state in ACTIVE_STATES or survey.untouchable(folder, node_id):
            continue
        for entry in _entries(folder / STAGING):
            found.append(
                Finding(
                    Category.PROMOTION_LEFTOVERS,
                    str(entry),
                    _describe_staging(entry),
                    disk_used(entry),
                    SETTLE,
                    node_id,
                )
            )
    return found


def _describe_staging(entry: Path) -> str:
    if entry.name.startswith("."):
        return "a file whose writing was cut short"
    if entry.name.endswith(PREVIOUS_SUFFIX):
        return "previous outputs kept while new ones were promoted"
    if entry.name.endswith(PROMOTING_SUFFIX):
        return "the intent of a promotion"
    return "outputs a node run was writing when it stopped"


def repair_promotion_leftovers(context: WorkspaceContext, node_id: str) -> bool:
    """Settle the node's ``.staging`` unless it is queued or running now (checked in a write
    transaction, so no run can claim it meanwhile); True if it was settled."""
    with context.store.write() as session:
        node = session.get_node(node_id)
        if node is None or node.state in ACTIVE_STATES:
            return False
        settle_leftovers(context.layout.node_folder(node_id))
    return True


def find_environment_leftovers(survey: Survey) -> list[Finding]:
    layout = survey.context.layout
    homes = [folder / "code" for folder in survey.folders.values()]
    if layout.shared_envs_dir.is_dir():
        homes += sorted(p for p in layout.shared_envs_dir.iterdir() if p.is_dir())
    leftovers = [
        path
        for home in homes
        for pattern in ENV_LEFTOVER_PATTERNS
        for path in sorted(home.glob(pattern))
        if not survey.untouchable(path)
    ]
    return [
        Finding(
            Category.ENVIRONMENT_LEFTOVERS,
            str(path),
            "an environment a sync replaced"
            if ".old-" in path.name
            else "an environment being built when its sync stopped",
            disk_used(path),
            "remove",
        )
        for path in leftovers
    ]


def find_cut_short_writes(survey: Survey) -> list[Finding]:
    """Temporary files of atomic saves (``durable.write_aside``) in node folders and their
    ``code/`` (environments and caches aside), and of the workspace's ``nodepipe.toml`` and
    store password, old enough that no save is still writing them."""
    oldest = time.time() - CUT_SHORT_AGE_S
    found = []
    for folder in survey.folders.values():
        for path in [*_write_asides(folder, recurse=False), *_write_asides(folder / "code")]:
            try:
                written = path.lstat()
            except FileNotFoundError:
                continue
            if written.st_mtime < oldest and not survey.untouchable(path):
                what = f"a save of {_saved_name(path.name)} that a kill cut short"
                found.append(
                    Finding(Category.CUT_SHORT_WRITES, str(path), what, written.st_size, "remove")
                )
    layout = survey.context.layout
    for path in [
        *cut_short_saves(layout.config_file),
        *cut_short_saves(layout.store_password_file),
    ]:
        what = f"a save of {_saved_name(path.name)} that a kill cut short"
        with contextlib.suppress(FileNotFoundError):
            size = path.lstat().st_size
            found.append(Finding(Category.CUT_SHORT_WRITES, str(path), what, size, "remove"))
    return found


def _write_asides(folder: Path, recurse: bool = True) -> list[Path]:
    found = []
    for directory, folders, files in os.walk(folder):
        folders[:] = [f for f in folders if recurse and not is_excluded_path(f)]
        found += [Path(directory) / name for name in files if is_write_aside(name)]
    return sorted(found)


def _saved_name(temporary: str) -> str:
    return temporary[1:].rsplit(".", 2)[0]


def find_stale_kernels(survey: Survey) -> list[Finding]:
    nodes_dir = survey.context.layout.nodes_dir
    found = []
    for spec in sorted(kernels_dir().glob(f"{kernel_name('')}*/kernel.json")):
        node_dir = _kernel_node_dir(spec)
        if node_dir is None or node_dir.parent != nodes_dir:
            continue
        node_id = node_dir.name
        if node_id not in survey.rows and node_id not in survey.folders:
            found.append(
                Finding(
                    Category.STALE_KERNELS,
                    str(spec.parent),
                    f"kernel of node {node_id}, which no longer exists",
                    disk_used(spec.parent),
                    "remove",
                    node_id,
                )
            )
    return found


def repair_stale_kernel(finding: Finding) -> None:
    """Remove the kernel folder found (not the one named after its node: they differ when a
    folder was copied or renamed by hand)."""
    remove_kernel_folder(Path(finding.subject))


def _kernel_node_dir(spec: Path) -> Path | None:
    try:
        env = json.loads(spec.read_text(encoding="utf-8")).get("env", {})
        return Path(env["NODEPIPE_NODE_DIR"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_leftover(path: Path) -> None:
    """Remove a leftover file or folder (gone already is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
