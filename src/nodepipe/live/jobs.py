"""Background jobs: long operations (copies of many nodes, whole pipelines) that return at once.

A job runs one use case in a worker thread. Its record says whether it is running, succeeded
(with what it made) or failed (with the nodepipe error); when it ends, the event hub announces
it, so whoever started it learns the outcome without waiting on the request or polling.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from nodepipe.domain.errors import NotFoundError
from nodepipe.domain.ids import new_id
from nodepipe.live.events import EventHub, JobFinished

KEPT_JOBS = 500
"""Finished jobs remembered for ``get``; older ones are forgotten."""


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a successful job made: a pipeline and/or nodes, and a sentence for the user."""

    message: str
    pipeline_id: str | None = None
    node_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Job:
    id: str
    kind: str
    description: str
    status: JobStatus = JobStatus.RUNNING
    outcome: JobOutcome | None = None
    error: BaseException | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)


class JobRunner:
    """Runs jobs on a few worker threads and remembers the last ``KEPT_JOBS`` of them."""

    def __init__(self, hub: EventHub, workers: int = 4) -> None:
        self._hub = hub
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nodepipe-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, description: str, operation: Callable[[], JobOutcome]) -> Job:
        """Start ``operation`` in the background; the returned record is updated in place."""
        job = Job(new_id(), kind, description)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEPT_JOBS:
                self._jobs.popitem(last=False)
        self._pool.submit(self._run, job, operation)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} (finished jobs are kept for a while only)")
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job ended (for tests and scripts); the record as it is then."""
        job = self.get(job_id)
        job.done.wait(timeout)
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _run(self, job: Job, operation: Callable[[], JobOutcome]) -> None:
        try:
            outcome = operation()
        except BaseException as error:  # reported to the user through the job record
            job.error = error
            job.status = JobStatus.FAILED
        else:
            job.outcome = outcome
            job.status = JobStatus.SUCCEEDED
        job.finished_at = datetime.now(UTC)
        job.done.set()
        self._hub.publish(JobFinished(job.id))
