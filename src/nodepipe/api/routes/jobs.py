"""``/jobs``: long operations started in the background, and the helper routes use to start one.

A route that starts a job answers ``202`` with the job at once; ``job_finished`` on the event
stream says when to fetch it again. The job's error, if any, has the same shape and ``kind``
as a synchronous error would.
"""

from __future__ import annotations

from collections.abc import Callable

from nodepipe.api.deps import AppServices, ServicesDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.events import JobPublic, job_public
from nodepipe.live.events import GraphChanged
from nodepipe.live.jobs import Job, JobOutcome
from nodepipe.schemas.errors import describe

router = resource_router("/jobs", tags=["jobs"], errors=(404,))


def public(job: Job) -> JobPublic:
    error = describe(job.error)[1] if job.error is not None else None
    return job_public(job, error)


def start_job(
    services: AppServices,
    kind: str,
    description: str,
    operation: Callable[[], JobOutcome],
    origin: str,
) -> JobPublic:
    """Run ``operation`` in the background; on success watchers are told to reload."""

    def run() -> JobOutcome:
        outcome = operation()
        services.hub.publish(GraphChanged(f"job {kind}", origin))
        return outcome

    return public(services.jobs.submit(kind, description, run))


@router.get("/{job}")
def get_job(job: str, services: ServicesDep) -> JobPublic:
    return public(services.jobs.get(job))
