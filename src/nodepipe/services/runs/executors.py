"""Choosing an executor by name; the Ray one is imported only when asked for."""

from __future__ import annotations

from nodepipe.domain.errors import InvalidInputError
from nodepipe.execution.executor import Executor
from nodepipe.execution.local import LocalExecutor

EXECUTORS = ("local", "ray")


def make_executor(name: str, jobs: int, ray_address: str | None = None) -> Executor:
    if name == "local":
        return LocalExecutor(jobs)
    if name == "ray":
        try:
            from nodepipe.execution.ray.executor import RayExecutor
        except ImportError as exc:
            raise InvalidInputError(
                f"the ray executor needs Ray: pip install 'nodepipe[ray]' ({exc})"
            ) from exc
        return RayExecutor(address=ray_address, jobs=jobs)
    raise InvalidInputError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
