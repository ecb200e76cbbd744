"""``nodepipe doctor --rebuild``: a new store for a workspace whose store is lost, holding
what the node folders hold.

Only a store that is missing, damaged or without nodepipe's tables is rebuilt (a server that
cannot be reached is not lost). The damaged SQLite file is moved aside with its WAL
(``store-damaged-<time>.sqlite``), never deleted; a new store is made; every complete node
folder becomes a node of the pipeline ``recovered`` (``adoption``). Runs, history, projects,
pipelines and canvas positions lived only in the store and are gone (a backup keeps them).
Refused while another process has the SQLite store open.

A rebuild killed after making the new store and before its adoption committed (one
transaction) leaves a store that opens and holds no pipeline and no node, while the folders
wait: the next ``--rebuild`` takes that store for its own and adopts them, as the first one
would have (``doctor --repair`` adopts them the same way). Until then other commands refuse
to open the workspace (``workspace.rebuild_mark``, written before the new store is made and
removed when the adoption commits) rather than show it empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import Action, ConflictError, Hint, WorkspaceError
from nodepipe.services.context import (
    check_identity,
    ensure_default_project,
    locate_workspace,
    make_context,
)
from nodepipe.services.upkeep.backup import refuse_if_in_use
from nodepipe.services.upkeep.doctor.adoption import Adoption, adopt
from nodepipe.services.upkeep.doctor.survey import Progress, no_progress, node_folders
from nodepipe.store.health import ProblemKind, describe_store, sqlite_file
from nodepipe.store.store import Store, check_store
from nodepipe.workspace.config import read_config
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.layout import WorkspaceLayout
from nodepipe.workspace.rebuild_mark import mark_rebuild
from nodepipe.workspace.store_files import move_store_aside

UNFINISHED = "was made by a rebuild that was cut short before it adopted the node folders"


@dataclass(frozen=True, slots=True)
class Rebuild:
    store: str
    problem: str
    node_ids: tuple[str, ...]
    """The node folders recovered (or, on a dry run, to recover)."""
    moved_aside: Path | None = None
    adoption: Adoption | None = None

    @property
    def finishes_a_cut_short_one(self) -> bool:
        """Whether the store is the one a rebuild killed before its adoption left."""
        return self.problem == UNFINISHED


def rebuild_store(
    workspace: Path | str | None, dry_run: bool = False, progress: Progress = no_progress
) -> Rebuild:
    layout = WorkspaceLayout(locate_workspace(workspace))
    config = read_config(layout)
    url = config.resolved_store_url(layout)
    where = describe_store(url)
    progress(f"looking at the store {where}")
    problem = check_store(url)
    node_ids = tuple(
        node_id
        for node_id, folder in node_folders(layout.nodes_dir).items()
        if (folder / "code" / "pyproject.toml").is_file()
    )
    cut_short = os.path.lexists(layout.rebuild_mark)  # a rebuild's mark: finish it
    if problem is None and not cut_short and not (node_ids and _left_by_a_killed_rebuild(url)):
        raise ConflictError(
            f"the store {where} opens fine; a rebuild only replaces a missing or damaged store",
            hint=Hint(Action.WORKSPACE_EXAMINE),
        )
    if problem is not None and problem.kind is ProblemKind.UNREACHABLE:
        raise WorkspaceError(f"the store {where} {problem.detail}; start its server or fix its URL")
    detail = problem.detail if problem is not None else UNFINISHED
    if dry_run:
        return Rebuild(where, detail, node_ids)
    store_file = sqlite_file(url)
    aside = None
    if store_file is not None:
        refuse_if_in_use(store_file)
    mark_rebuild(layout)  # other commands refuse the store until the adoption commits
    if problem is None:  # the new store a killed rebuild made: finish it
        store = Store.open(url)
    else:
        if store_file is not None:
            aside = move_store_aside(store_file, "damaged")
            crash_point("rebuild.moved-aside")
        store = Store.create(url)
    try:
        crash_point("rebuild.created")
        check_identity(layout, store, url)  # the new store takes the folder's identity
        context = make_context(layout, config, store)
        with store.write() as session:
            ensure_default_project(session)
        adoption = adopt(context, node_ids, progress)
    finally:
        store.close()
    return Rebuild(where, detail, node_ids, aside, adoption)


def _left_by_a_killed_rebuild(url: str) -> bool:
    """Whether the store (it opens) is what a rebuild killed before its adoption committed
    leaves: no pipeline and no node (the adoption adds them all in one transaction)."""
    store = Store.open(url)
    try:
        return store.holds_no_work()
    finally:
        store.close()
