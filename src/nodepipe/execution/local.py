"""The local executor: node processes on this machine, each in its own process group.

A node should start the moment another one's process ends, so the work is split:

- a node run is prepared ahead of time (staging folder, context file, log, the environment
  checked against its lock) where it is handed over, in the runner's thread: handing a few
  file operations to another thread costs more than doing them. Only a run whose environment
  must be synced first goes to a helper thread, so a long sync holds up nothing else;
- one launcher thread (``ProcessLauncher``) starts prepared runs while fewer than ``jobs``
  processes live, and waits for their ends on pidfds. When a process ends, it starts the next
  prepared run before anything else, then concludes the ended one (the log's last line,
  outputs promoted and digested) if its outputs are small; larger ones go to a helper, so
  hashing them never delays another node's start.

The runner hands over up to ``prefetch`` runs more than ``jobs``, so prepared runs wait for
each slot. ``--jobs`` bounds node processes; the syncs of prepared runs happen beside them.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from nodepipe.domain.runs import RunOutcome, TaskOutcome
from nodepipe.execution.executor import PreparingCallback, StartedCallback
from nodepipe.execution.node_variables import node_variables
from nodepipe.execution.process_launcher import LaunchedRun, ProcessLauncher
from nodepipe.execution.recovery import this_host
from nodepipe.execution.task import NodeProcess, NodeTask
from nodepipe.execution.warm_start import WarmStarts, warm_start_possible


class LocalExecutor:
    """Runs up to ``jobs`` node processes at once on this machine."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.prefetch = self.jobs
        self._helpers: ThreadPoolExecutor | None = None
        self._launcher: ProcessLauncher | None = None
        self._runs: dict[str, LaunchedRun] = {}
        self._lock = threading.Lock()
        self._host = this_host()
        self._environment: dict[str, str] = {}
        self._handed_over = itertools.count()
        self._warm: WarmStarts | None = None
        self._warm_on = False
        self._stoppers: list[threading.Thread] = []
        """The threads ending cancelled nodes' process groups, waited for by ``stop``."""

    def start(self) -> None:
        self._environment = node_variables()
        self._warm_on = warm_start_possible()
        self._helpers = ThreadPoolExecutor(
            max_workers=self.jobs + self.prefetch, thread_name_prefix="node"
        )
        self._launcher = ProcessLauncher(self.jobs, self._hand_over)
        self._launcher.start()

    def submit(
        self,
        task: NodeTask,
        on_started: StartedCallback,
        on_preparing: PreparingCallback | None = None,
    ) -> Future[TaskOutcome]:
        assert self._helpers is not None, "start() the executor first"
        process = NodeProcess(task, self._environment, on_preparing, self._warm_starts(task))
        run = LaunchedRun(
            process,
            lambda pid: on_started(task.node_run_id, pid, self._host, process.recorded),
            order=next(self._handed_over),
        )
        with self._lock:
            self._runs[task.node_run_id] = run
        if _quick_to_prepare(run.process):  # here: a thread would cost more than the work
            self._prepare(run, environment_ready=True)
        else:
            self._helpers.submit(self._prepare, run)
        return run.future

    def cancel(self, node_run_ids: Collection[str]) -> None:
        with self._lock:
            runs = [self._runs[i] for i in node_run_ids if i in self._runs]
        for run in runs:  # first all marked, so that none takes the slot another one frees
            run.process.request_cancel()
        if self._launcher is not None:
            self._launcher.wake()
        for run in runs:
            stopper = threading.Thread(target=run.process.cancel, daemon=True)
            stopper.start()
            with self._lock:
                self._stoppers.append(stopper)

    def stop(self) -> None:
        """Cancel what still runs, wait until every run is settled and every cancelled node's
        process group has ended, then end the threads.

        A cancelled node is settled once its own process ends; a member of its group that
        ignores SIGTERM is killed only after the grace period, so that wait is here: the
        run (and the ``nodepipe`` process) never ends before its nodes' processes."""
        with self._lock:
            runs = list(self._runs.values())
        self.cancel([run.process.task.node_run_id for run in runs])
        concurrent.futures.wait([run.future for run in runs])
        with self._lock:
            stoppers, self._stoppers = self._stoppers, []
        for stopper in stoppers:
            stopper.join()
        try:
            if self._launcher is not None:
                self._launcher.stop()
                self._launcher = None
            if self._helpers is not None:
                self._helpers.shutdown(wait=True)
                self._helpers = None
        finally:
            if self._warm is not None:
                self._warm.stop()
                self._warm = None

    def _warm_starts(self, task: NodeTask) -> WarmStarts | None:
        """The run's warm interpreters (``execution.warm_start``), kept in the workspace's
        state folder; None when they are off."""
        if not (self._warm_on and task.warm_start and task.lock_cache_dir):
            return None
        if self._warm is None:
            self._warm = WarmStarts(Path(task.lock_cache_dir).parent)
        return self._warm

    def _prepare(self, run: LaunchedRun, environment_ready: bool = False) -> None:
        try:
            run.process.stage()
            if not run.process.cancelled and not environment_ready:
                run.process.ensure_environment()
            if not run.process.cancelled:
                run.process.record_environment()
        except Exception as exc:  # nodepipe could not prepare it: the node is not to blame
            self._fail(run, exc)
            return
        assert self._launcher is not None
        self._launcher.post(run)

    def _hand_over(self, run: LaunchedRun) -> None:
        """Called by the launcher once a run's process ended (or will never start): concluded
        right there when that is quick, by a helper otherwise."""
        assert self._helpers is not None
        if run.error is None and run.process.quick_to_conclude():
            self._conclude(run)
        else:
            self._helpers.submit(self._conclude, run)

    def _conclude(self, run: LaunchedRun) -> None:
        if run.error is not None:
            self._fail(run, run.error)
            return
        try:
            outcome = run.process.conclude(run.exit_code, run.timed_out)
        except Exception as exc:  # e.g. outputs that cannot be promoted
            self._fail(run, exc)
            return
        self._settle(run, outcome)

    def _fail(self, run: LaunchedRun, error: BaseException) -> None:
        """Settle a run nodepipe could not run; even if saying so fails, the run ends (the
        runner waits for every future it was given)."""
        try:
            outcome = run.process.fail(error)
        except Exception as also:
            detail = f"{error} (then, while failing it: {also!r})"
            outcome = TaskOutcome(run.process.task.node_run_id, RunOutcome.ERROR, None, detail)
        self._settle(run, outcome)

    def _settle(self, run: LaunchedRun, outcome: TaskOutcome) -> None:
        with self._lock:
            self._runs.pop(run.process.task.node_run_id, None)
        run.future.set_result(outcome)


def _quick_to_prepare(process: NodeProcess) -> bool:
    """No environment to sync: staging the run is a few file operations."""
    try:
        return process.environment_ready()
    except Exception:  # e.g. an interpreter that cannot be found: a helper reports it
        return False
