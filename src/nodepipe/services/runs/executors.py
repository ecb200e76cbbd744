"""Choosing an executor by name; the Ray one is imported only when asked for.

``run_storage`` decides which object storage a run uses (``--storage`` or ``[storage] url``)
and whether node tasks travel through it because Ray workers share no filesystem with the
workspace (``--no-shared-fs``, ``[execution] shared-fs = false``). Combinations that cannot work
are refused before anything starts, and so is a Ray address where no cluster answers
(``execution.ray.address``, before Ray is imported). With a storage, every executor is wrapped
in ``SharedOutputs``: outputs are shared between workspaces by what made them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import Action, Hint, InvalidInputError

if TYPE_CHECKING:  # fsspec only for runs that use a storage, not for every local run
    from nodepipe.execution.executor import Executor
    from nodepipe.workspace.config import WorkspaceConfig
    from nodepipe.workspace.storage import Storage

EXECUTORS = ("local", "ray")


def run_storage(
    executor: str,
    shared_fs: bool | None,
    storage: str | None,
    config: WorkspaceConfig,
    root: Path,
) -> tuple[Storage | None, bool]:
    """The run's object storage (None: none named), and whether node tasks travel through it
    (workers without the workspace)."""
    url = storage or config.storage_url
    if shared_fs is None:
        shared_fs = config.shared_fs if executor == "ray" else True
    if not shared_fs and executor != "ray":
        raise InvalidInputError(
            "running without a shared filesystem is for remote workers: it needs the ray "
            f"executor (the {executor} executor runs nodes where the workspace is)"
        )
    if not shared_fs and url is None:
        raise InvalidInputError(
            "workers without the workspace's filesystem need an object storage, and none is "
            "named: the workspace sets no [storage] url",
            hint=Hint(Action.RUN_STORAGE),
        )
    if url is None:
        return None, False
    from nodepipe.workspace.storage import Storage

    return Storage.open(url, base=root), not shared_fs


def make_executor(
    name: str,
    jobs: int,
    ray_address: str | None = None,
    storage: tuple[Storage | None, bool] = (None, False),
    pull: bool = True,
) -> Executor:
    """The executor ``name``; with a storage, wrapped to share outputs (pulling them unless
    ``pull`` is False: a forced run)."""
    shared, remote = storage
    executor = _executor(name, jobs, ray_address, shared if remote else None)
    if shared is None:
        return executor
    from nodepipe.execution.shared_outputs import SharedOutputs

    return SharedOutputs(executor, shared, pull)


def _executor(name: str, jobs: int, ray_address: str | None, storage: Storage | None) -> Executor:
    if name == "local":
        from nodepipe.execution.local import LocalExecutor  # not for a run with nothing to do

        return LocalExecutor(jobs)
    if name == "ray":
        from nodepipe.execution.ray.address import check_answers  # imports no Ray

        check_answers(ray_address)  # Ray's own connect would retry for minutes: refused first
        try:
            from nodepipe.execution.ray.executor import RayExecutor
        except ImportError as exc:
            raise InvalidInputError(
                f"the ray executor needs Ray: pip install 'nodepipe[ray]' ({exc})"
            ) from exc
        return RayExecutor(address=ray_address, jobs=jobs, storage=storage)
    raise InvalidInputError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
