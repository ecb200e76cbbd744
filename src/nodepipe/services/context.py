"""Opening and creating workspaces: the context every service works in.

Only ``init_context`` creates a store. Opening a workspace whose store is missing, damaged or
empty is a ``WorkspaceError`` that names the store and what to do: restore the newest backup,
or rebuild the store from the node folders (its hint, ``recovery_advice``). A store that
belongs to another workspace folder is refused before anything reads it (``check_identity``;
``services.identity``).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from nodepipe.domain.errors import (
    Action,
    ConflictError,
    Hint,
    InvalidInputError,
    WorkspaceError,
)
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project
from nodepipe.envs.node_env import NodeEnvironments
from nodepipe.envs.uv import UvRunner
from nodepipe.services.location import WORKSPACE_ENV
from nodepipe.store.store import Store
from nodepipe.workspace.backups import newest_backup
from nodepipe.workspace.check_cache import CheckCache, cache_file
from nodepipe.workspace.config import (
    DB_URL_ENV,
    PRIVATE_DIR_MODE,
    WorkspaceConfig,
    default_interpreter,
    read_config,
    split_password,
    write_config,
)
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import cut_short_saves, remove_cut_short_saves
from nodepipe.workspace.folder_memo import FolderMemo
from nodepipe.workspace.kept_facts import KeptFacts
from nodepipe.workspace.layout import WorkspaceLayout, find_workspace_root, folder_identity
from nodepipe.workspace.ownership import check_new_workspace_place, check_workspace_owner

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession

DEFAULT_PROJECT = "default"


def now() -> datetime:
    return datetime.now(UTC)


class WorkspaceContext:
    """Everything a use case needs: where the files are, the store, and the environment builder.

    A plain class: nothing compares it, and a dataclass costs every command's start about
    0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = (
        "check_cache",
        "config",
        "environments",
        "folder_memo",
        "kept_facts",
        "layout",
        "store",
    )

    def __init__(
        self,
        layout: WorkspaceLayout,
        config: WorkspaceConfig,
        store: Store,
        environments: NodeEnvironments,
        folder_memo: FolderMemo | None = None,
        check_cache: CheckCache | None = None,
        kept_facts: KeptFacts | None = None,
    ) -> None:
        self.layout: Final = layout
        self.config: Final = config
        self.store: Final = store
        self.environments: Final = environments
        self.folder_memo: Final = FolderMemo() if folder_memo is None else folder_memo
        """Node checks kept between views while the web app's watcher vouches for them (a CLI
        process never arms it: it checks every node)."""
        self.check_cache: Final = check_cache
        """Node checks kept across processes, each used while its files stat as they did."""
        self.kept_facts: Final = kept_facts
        """Facts about node environments kept across processes (synced, what a run records),
        each used while its files stat as they did; written when a run ends."""

    @property
    def python_version(self) -> str:
        """``3.11``-style version of the workspace's default interpreter, from its file name."""
        name = Path(self.config.python).name.removeprefix("python")
        return name if name.count(".") == 1 else "3.11"


def make_context(
    layout: WorkspaceLayout, config: WorkspaceConfig, store: Store
) -> WorkspaceContext:
    """The context of a workspace whose store is already open (or just created)."""
    environments = NodeEnvironments(
        uv=UvRunner(cache_dir=layout.uv_cache_dir),
        python=config.python,
        lock_cache_dir=layout.lock_cache_dir,
        journal_dir=layout.staging_dir,
        conda_cache_dir=layout.conda_cache_dir,
    )
    check_cache = CheckCache(cache_file(layout.state_dir), layout.root, layout.nodes_dir)
    facts = KeptFacts(layout.state_dir, layout.root, layout.nodes_dir)
    return WorkspaceContext(
        layout, config, store, environments, check_cache=check_cache, kept_facts=facts
    )


def locate_workspace(path: Path | str | None = None) -> Path:
    """The workspace root: ``path``, else $NODEPIPE_WORKSPACE, else the nearest one upwards;
    refused unless this user (or root) alone controls it (``workspace.ownership``)."""
    explicit = path if path is not None else os.environ.get(WORKSPACE_ENV)
    start = Path(explicit) if explicit else Path.cwd()
    root = find_workspace_root(start)
    if root is None or (explicit and root != start.resolve()):
        where = f"at {start}" if explicit else f"in {start} or any parent directory"
        raise WorkspaceError(f"no nodepipe workspace {where}", hint=Hint(Action.WORKSPACE_INIT))
    check_workspace_owner(root)
    return root


def open_context(path: Path | str | None = None, rebuilding: bool = False) -> WorkspaceContext:
    """The context of an existing workspace; its store must exist and be sound, and no
    ``doctor --rebuild`` may be cut short between making it and giving it the node folders
    (``workspace.rebuild_mark``; ``rebuilding``: opened all the same, by ``doctor``)."""
    layout = WorkspaceLayout(locate_workspace(path))
    if not rebuilding and os.path.lexists(layout.rebuild_mark):  # one stat
        raise WorkspaceError(
            f"a rebuild of the store of {layout.root} was cut short (or is running): its new "
            "store does not hold the node folders yet, so the workspace would look empty",
            hint=Hint(Action.STORE_REBUILD),
        )
    config = read_config(layout)
    url = config.resolved_store_url(layout)
    store = Store.open(url, lambda: recovery_advice(layout))
    try:
        check_identity(layout, store, url)
    except BaseException:
        store.close()
        raise
    return make_context(layout, config, store)


def check_identity(layout: WorkspaceLayout, store: Store, url: str) -> None:
    """Refuse a store that belongs to another workspace folder; settle one not yet tied to
    this folder (``services.identity``). One query when the folder and its store carry one
    identity, as they do but once."""
    folder_id = folder_identity(layout)
    recorded = store.identity()
    if recorded is None or recorded != (folder_id, str(layout.root)):
        from nodepipe.services.identity import settle_identity

        settle_identity(layout, store, url, folder_id, recorded)


def recovery_advice(layout: WorkspaceLayout) -> Hint:
    """What to do about a store that is missing or damaged: restore the newest backup, if
    there is one, else rebuild the store from what the node folders hold."""
    newest = newest_backup(layout)
    if newest is None:
        return Hint(Action.STORE_REBUILD)
    return Hint(Action.STORE_RESTORE, {"backup": str(newest)})


def init_context(
    path: Path | str, store_url: str | None = None, python: str | None = None
) -> WorkspaceContext:
    """Create a workspace at ``path`` (a new or empty directory, or one where a killed init
    left its workspace unfinished) with a ``default`` project."""
    root = Path(path).resolve()
    layout = WorkspaceLayout(root)
    finishing = _cut_short_init(layout)
    _check_nothing_in_the_way(root, finishing)
    check_new_workspace_place(root)
    interpreter = python or default_interpreter()
    if not Path(interpreter).is_file():
        raise InvalidInputError(f"no Python interpreter at {interpreter}")
    default_url = f"sqlite:///{layout.default_store_file.relative_to(root)}"
    config = WorkspaceConfig(
        # the store made is the one recorded: --db, else $NODEPIPE_DB_URL, else the default
        store_url=store_url or os.environ.get(DB_URL_ENV) or default_url,
        python=interpreter,
    )
    split_password(config.store_url)  # a malformed URL is refused before anything is made
    created_root = not root.exists()
    try:
        layout.create_directories()
        layout.state_dir.chmod(PRIVATE_DIR_MODE)
        crash_point("init.directories")
        url = config.resolved_store_url(layout)
        _check_store_free(url, finishing)
        store = Store.create(url)
        crash_point("init.store-created")
        check_identity(layout, store, url)
        context = make_context(layout, config, store)
        with context.store.write() as session:
            ensure_default_project(session)
        crash_point("init.project")
        write_config(layout, config)
    except Exception:
        if not finishing:  # what is there may hold more than this init made
            _remove_partial_workspace(layout, created_root)
        raise
    if finishing:
        remove_cut_short_saves(layout.config_file, older_than=0)
    return context


def _cut_short_init(layout: WorkspaceLayout) -> bool:
    """Whether the folder holds only what an init killed before it wrote ``nodepipe.toml``
    leaves: ``.nodepipe/``, an empty ``nodes/``, a cut-short save of ``nodepipe.toml``. The next
    init finishes that workspace: each of its steps takes what is there (the store made is
    brought to the current schema, the project ``default`` added if missing), nothing is
    removed."""
    if layout.config_file.exists() or not layout.state_dir.is_dir():
        return False
    cut_short = set(cut_short_saves(layout.config_file, older_than=0))
    for entry in layout.root.iterdir():
        if entry == layout.nodes_dir and entry.is_dir() and not any(entry.iterdir()):
            continue
        if entry != layout.state_dir and entry not in cut_short:
            return False
    return True


def _check_store_free(url: str, finishing: bool) -> None:
    """Refuse (a conflict: nothing is made) a store that holds a workspace's store already: a
    second workspace folder on it would show that workspace's nodes without their folders (its
    ``doctor --repair`` deleting them as rows without a folder), and its users' runs and edits
    would change them. A missing, empty or unreachable store is left to ``Store.create``; so is,
    when ``finishing`` a cut-short init, a store holding no pipeline and no node (the one that
    init made)."""
    from nodepipe.store.engine import create_store_engine
    from nodepipe.store.failures import StoreFailures, UnusableStoreError
    from nodepipe.store.health import sqlite_file
    from nodepipe.store.migrate import current_revision

    path = sqlite_file(url)
    if path is not None and not path.is_file():
        return
    failures = StoreFailures(url, lambda: None)
    try:
        with failures.translated():
            engine = create_store_engine(url)
            try:
                revision = current_revision(engine)
            finally:
                engine.dispose()
    except UnusableStoreError:
        return
    if revision is not None and not (finishing and _holds_no_work(url)):
        raise ConflictError(
            f"the store {failures.where} already holds the store of a workspace: a workspace "
            "is made with a store of its own: give it a new, empty database, or work in the "
            "workspace that store belongs to"
        )


def _holds_no_work(url: str) -> bool:
    store = Store.open(url)
    try:
        return store.holds_no_work()
    finally:
        store.close()


def _check_nothing_in_the_way(root: Path, finishing: bool = False) -> None:
    """Refuse (a conflict: nothing is made) a place that holds something already: a workspace
    at or above it, a file, a folder with files in it (but for what a cut-short init left, when
    ``finishing``); the message names the way out."""
    existing = find_workspace_root(root)
    if existing == root:
        raise ConflictError(f"{root} is already a nodepipe workspace: use it, or name a new folder")
    if existing is not None:
        raise ConflictError(
            f"{root} is inside the workspace {existing}, and a workspace cannot hold another: "
            "name a new or empty folder outside it"
        )
    if root.exists() and not root.is_dir():
        raise ConflictError(f"{root} is a file: name a new or empty folder for the workspace")
    if finishing:
        return
    entries = sorted(entry.name for entry in root.iterdir()) if root.exists() else []
    if entries:
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if entries[3:] else "")
        raise ConflictError(
            f"{root} is not empty (it holds {shown}): a workspace is made in a new or empty "
            f"folder; name one, such as {root / 'lab'}"
        )


def ensure_default_project(session: StoreSession) -> None:
    """A new store gets the project ``default``."""
    if not session.list_projects():
        session.insert_project(
            Project(id=new_id(), name=DEFAULT_PROJECT, notes="", created_at=now())
        )


def _remove_partial_workspace(layout: WorkspaceLayout, created_root: bool) -> None:
    shutil.rmtree(layout.state_dir, ignore_errors=True)
    shutil.rmtree(layout.nodes_dir, ignore_errors=True)
    layout.config_file.unlink(missing_ok=True)
    if created_root:
        shutil.rmtree(layout.root, ignore_errors=True)
