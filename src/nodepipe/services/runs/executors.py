"""Choosing an executor by name; the Ray one is imported only when asked for.

``remote_storage`` decides where node tasks travel when Ray workers share no filesystem with the
workspace (``--no-shared-fs``, ``[execution] shared-fs = false``): the object storage named by
``--storage`` or ``[storage] url``. Combinations that cannot work are refused before anything
starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import InvalidInputError
from nodepipe.execution.executor import Executor
from nodepipe.execution.local import LocalExecutor
from nodepipe.workspace.config import WorkspaceConfig

if TYPE_CHECKING:  # fsspec only for runs that use a storage, not for every local run
    from nodepipe.workspace.storage import Storage

EXECUTORS = ("local", "ray")


def remote_storage(
    executor: str,
    shared_fs: bool | None,
    storage: str | None,
    config: WorkspaceConfig,
    root: Path,
) -> Storage | None:
    """The storage node tasks travel through, or None when workers see the workspace."""
    if shared_fs is None:
        shared_fs = config.shared_fs if executor == "ray" else True
    if shared_fs:
        return None
    if executor != "ray":
        raise InvalidInputError(
            f"--no-shared-fs is for remote workers: use it with --executor ray (the {executor} "
            "executor runs nodes where the workspace is)"
        )
    url = storage or config.storage_url
    if url is None:
        raise InvalidInputError(
            "workers without the workspace's filesystem need an object storage: pass --storage "
            'URL (a folder or any fsspec URL, e.g. s3://bucket/prefix), or set [storage] url = "…" '
            "in nodepipe.toml"
        )
    from nodepipe.workspace.storage import Storage

    return Storage.open(url, base=root)


def make_executor(
    name: str, jobs: int, ray_address: str | None = None, storage: Storage | None = None
) -> Executor:
    if name == "local":
        return LocalExecutor(jobs)
    if name == "ray":
        try:
            from nodepipe.execution.ray.executor import RayExecutor
        except ImportError as exc:
            raise InvalidInputError(
                f"the ray executor needs Ray: pip install 'nodepipe[ray]' ({exc})"
            ) from exc
        return RayExecutor(address=ray_address, jobs=jobs, storage=storage)
    raise InvalidInputError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
