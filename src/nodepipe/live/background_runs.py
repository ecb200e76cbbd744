"""Runs started in the background: the request returns the run id at once, the hub tells the rest.

``RunService.run`` blocks until the run ends; the launcher calls it in a thread of its own and
waits only until the run is planned and its nodes claimed (``on_start``; or until it turns out
nothing needs to run, or the request is refused). Everything after that reaches watchers as the
run's events, which the hub publishes as they are.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

from nodepipe.domain.errors import ConflictError
from nodepipe.execution.plan import Plan
from nodepipe.live.events import EventHub, RunCrashed
from nodepipe.services.graph.pipelines import PipelineService
from nodepipe.services.runs.service import RunRequest, RunResult, RunService

SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Launched:
    """A run that started (``run_id``), or the plan that showed nothing needed to run."""

    pipeline_id: str
    run_id: str | None
    plan: Plan
    tags: dict[str, str]


@dataclass(slots=True)
class _Start:
    """What the run thread tells the launching thread, once."""

    ready: threading.Event = field(default_factory=threading.Event)
    started: RunResult | None = None
    """The run as it starts (its id, plan and tags); None while or if it does not."""
    result: RunResult | None = None
    error: BaseException | None = None


class RunLauncher:
    def __init__(self, runs: RunService, pipelines: PipelineService, hub: EventHub) -> None:
        self._runs = runs
        self._pipelines = pipelines
        self._hub = hub
        self._going: dict[str, tuple[threading.Thread, _Start]] = {}
        self._lock = threading.Lock()

    def launch(self, request: RunRequest) -> Launched:
        """Start ``request`` in the background; errors before the run starts are raised here."""
        pipeline = self._pipelines.get(request.pipeline)
        start = _Start()

        def started(run: RunResult) -> None:
            start.started = run
            start.ready.set()

        def run() -> None:
            try:
                start.result = self._runs.run(request, [self._hub.publish], started)
            except BaseException as error:
                start.error = error
                if start.started is not None:
                    self._hub.publish(RunCrashed(start.started.run_id, pipeline.id, str(error)))
            finally:
                start.ready.set()
                with self._lock:
                    self._going.pop(threading.current_thread().name, None)

        thread = threading.Thread(target=run, name=f"nodepipe-run-{id(start)}", daemon=True)
        with self._lock:
            self._going[thread.name] = (thread, start)
        thread.start()
        start.ready.wait()
        return self._answer(pipeline.id, start)

    @staticmethod
    def _answer(pipeline_id: str, start: _Start) -> Launched:
        run = start.started or start.result  # a run that started, or the plan of nothing to run
        if run is None:
            assert start.error is not None
            raise start.error
        return Launched(pipeline_id, run.run_id, run.plan, run.tags)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._going)

    def shutdown(self) -> None:
        """Cancel the runs this launcher still has going and wait for them to end."""
        with self._lock:
            going = list(self._going.values())
        for _, start in going:
            if start.started is not None and start.started.run_id is not None:
                self._cancel(start.started.run_id)
        for thread, _ in going:
            thread.join(SHUTDOWN_GRACE_SECONDS)

    def _cancel(self, run_id: str) -> None:
        nodes = [nr.node_id for nr in self._runs.node_runs(run_id)]
        with contextlib.suppress(ConflictError):  # it ended meanwhile: nothing left to kill
            self._runs.kill(nodes)
