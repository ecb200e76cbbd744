"""The executor interface every backend implements: start, submit, cancel, stop.

``submit`` returns a ``concurrent.futures.Future`` that resolves to the ``TaskOutcome``; the
runner turns its completion into an event, so no executor ever needs polling.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Future
from typing import Protocol

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.runs import TaskOutcome
from nodepipe.execution.task import NodeTask, PreparingCallback

__all__ = ["Executor", "PreparingCallback", "StartedCallback"]

StartedCallback = Callable[[str, int | None, str, RunEnvironment | None], None]
"""Called with (node run id, process id or None, where, what it started with) once the node
process is up."""


class Executor(Protocol):
    name: str
    prefetch: int
    """How many node tasks beyond the concurrency limit the runner may hand over ahead of time
    (the executor itself then keeps no more than the limit running)."""

    def start(self) -> None: ...

    def submit(
        self,
        task: NodeTask,
        on_started: StartedCallback,
        on_preparing: PreparingCallback | None = None,
    ) -> Future[TaskOutcome]:
        """Run ``task``; ``on_preparing`` hears of long preparation steps where the executor
        can tell (the local one does; a Ray worker's steps show in the node's log only)."""

    def cancel(self, node_run_ids: Collection[str]) -> None:
        """Stop these node runs (all of them marked cancelled before any is killed)."""

    def stop(self) -> None: ...
