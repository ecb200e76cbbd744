"""Opening and creating workspaces: the context every service works in."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nodepipe.domain.errors import WorkspaceError
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Project
from nodepipe.envs.node_env import NodeEnvironments
from nodepipe.envs.uv import UvRunner
from nodepipe.store.store import Store
from nodepipe.workspace.config import (
    WorkspaceConfig,
    default_interpreter,
    read_config,
    write_config,
)
from nodepipe.workspace.layout import WORKSPACE_ENV, WorkspaceLayout, find_workspace_root

DEFAULT_PROJECT = "default"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkspaceContext:
    """Everything a use case needs: where the files are, the store, and the environment builder."""

    layout: WorkspaceLayout
    config: WorkspaceConfig
    store: Store
    environments: NodeEnvironments

    @property
    def python_version(self) -> str:
        """``3.11``-style version of the workspace's default interpreter, from its file name."""
        name = Path(self.config.python).name.removeprefix("python")
        return name if name.count(".") == 1 else "3.11"


def _context(layout: WorkspaceLayout, config: WorkspaceConfig) -> WorkspaceContext:
    store = Store.open(config.resolved_store_url(layout))
    environments = NodeEnvironments(
        uv=UvRunner(cache_dir=layout.uv_cache_dir),
        python=config.python,
        lock_cache_dir=layout.lock_cache_dir,
        journal_dir=layout.staging_dir,
    )
    return WorkspaceContext(layout=layout, config=config, store=store, environments=environments)


def locate_workspace(path: Path | str | None = None) -> Path:
    """The workspace root: ``path``, else $NODEPIPE_WORKSPACE, else the nearest one upwards."""
    explicit = path if path is not None else os.environ.get(WORKSPACE_ENV)
    start = Path(explicit) if explicit else Path.cwd()
    root = find_workspace_root(start)
    if root is None or (explicit and root != start.resolve()):
        where = f"at {start}" if explicit else f"in {start} or any parent directory"
        raise WorkspaceError(
            f"no nodepipe workspace {where}; create one with `nodepipe init DIR` "
            f"or point to one with --workspace or ${WORKSPACE_ENV}"
        )
    return root


def open_context(path: Path | str | None = None) -> WorkspaceContext:
    layout = WorkspaceLayout(locate_workspace(path))
    return _context(layout, read_config(layout))


def init_context(
    path: Path | str, store_url: str | None = None, python: str | None = None
) -> WorkspaceContext:
    """Create a workspace at ``path`` (a new or empty directory) with a ``default`` project."""
    root = Path(path).resolve()
    layout = WorkspaceLayout(root)
    existing = find_workspace_root(root)
    if existing is not None:
        raise WorkspaceError(f"{root} is already inside the workspace {existing}")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WorkspaceError(f"{root} exists and is not an empty directory")
    interpreter = python or default_interpreter()
    if not Path(interpreter).is_file():
        raise WorkspaceError(f"no Python interpreter at {interpreter}")
    config = WorkspaceConfig(
        store_url=store_url or f"sqlite:///{layout.default_store_file.relative_to(root)}",
        python=interpreter,
    )
    created_root = not root.exists()
    try:
        layout.create_directories()
        context = _context(layout, config)
        with context.store.write() as session:
            if not session.list_projects():
                session.insert_project(
                    Project(id=new_id(), name=DEFAULT_PROJECT, notes="", created_at=now())
                )
        write_config(layout, config)
    except Exception:
        _remove_partial_workspace(layout, created_root)
        raise
    return context


def _remove_partial_workspace(layout: WorkspaceLayout, created_root: bool) -> None:
    shutil.rmtree(layout.state_dir, ignore_errors=True)
    shutil.rmtree(layout.nodes_dir, ignore_errors=True)
    layout.config_file.unlink(missing_ok=True)
    if created_root:
        shutil.rmtree(layout.root, ignore_errors=True)
