"""Environments beyond one node: a pipeline's base packages and named shared environments.

``nodepipe pipeline base-env`` and ``nodepipe shared-env``. Showing is immediate; changing
runs uv for every node concerned, so it is a background job.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from nodepipe.api.deps import OriginDep, ServicesDep, WorkspaceDep
from nodepipe.api.routes.jobs import start_job
from nodepipe.api.routing import error_responses, resource_router
from nodepipe.api.schemas.environments import PackagesChange, SharedEnvCreate
from nodepipe.api.schemas.events import JobPublic
from nodepipe.api.schemas.fields import NameCheck, name_schema
from nodepipe.domain.requirements import validate_package_names
from nodepipe.live.jobs import JobOutcome
from nodepipe.schemas.environments import BasePackagesPublic, SharedEnvPublic
from nodepipe.services.envs.base_packages import BasePackages
from nodepipe.services.envs.trust import check_trusted_inputs

router = resource_router(tags=["environments"], errors=(404,))

PackageNames = Annotated[list[str], Query(min_length=1, description="Packages to remove.")]
SharedEnvName = Annotated[str, NameCheck, Path(json_schema_extra=name_schema)]


@router.get("/pipelines/{pipeline}/base-packages")
def base_packages(pipeline: str, ws: WorkspaceDep) -> BasePackagesPublic:
    return BasePackagesPublic.model_validate(ws.base_envs.view(pipeline))


@router.post("/pipelines/{pipeline}/base-packages", status_code=202, responses=error_responses(409))
def add_base_packages(
    pipeline: str, body: PackagesChange, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Every node the pipeline owns gets these packages (all relocked, or none). Refused at
    once: a requirement that does not parse (422), a locked pipeline or node (409); what uv
    refuses (a package or version the index does not have) fails the job, changing nothing."""
    check_trusted_inputs(body.packages)
    ws = services.workspace
    found = ws.pipelines.get(pipeline)
    ws.base_envs.check_add(found.id, body.packages)

    def run() -> JobOutcome:
        base = ws.base_envs.add(found.id, body.packages)
        message = f"{found.tag}: base packages {', '.join(base)}"
        return JobOutcome(message + _not_given(ws.base_envs.view(found.id)), found.id)

    what = f"{found.tag}: add {', '.join(body.packages)} to every node"
    return start_job(services, "base-add", what, run, origin)


@router.delete(
    "/pipelines/{pipeline}/base-packages", status_code=202, responses=error_responses(409)
)
def remove_base_packages(
    pipeline: str, packages: PackageNames, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Refused at once: a package the base does not have (422, naming the ones it has), a
    locked pipeline or node (409)."""
    validate_package_names(packages)
    ws = services.workspace
    found = ws.pipelines.get(pipeline)
    ws.base_envs.check_remove(found.id, packages)

    def run() -> JobOutcome:
        base = ws.base_envs.remove(found.id, packages)
        message = f"{found.tag}: base packages {', '.join(base) or 'none'}"
        return JobOutcome(message + _not_given(ws.base_envs.view(found.id)), found.id)

    what = f"{found.tag}: remove {', '.join(packages)} from every node"
    return start_job(services, "base-remove", what, run, origin)


def _not_given(base: BasePackages) -> str:
    """The job message's part naming the nodes the base does not reach."""
    if not base.not_given:
        return ""
    return "; not given to " + "; ".join(f"{n.tag} ({n.reason})" for n in base.not_given)


@router.get("/shared-envs")
def list_shared_envs(ws: WorkspaceDep) -> list[str]:
    return ws.shared_envs.list()


@router.post("/shared-envs", status_code=202, responses=error_responses(409))
def create_shared_env(body: SharedEnvCreate, services: ServicesDep, origin: OriginDep) -> JobPublic:
    """Create it, lock and sync it in a job. Refused at once: a name another shared
    environment has (409 about ``name``), a requirement that does not parse or names a file
    of the server (422); what uv refuses (a package that does not exist) fails the job."""
    check_trusted_inputs(body.packages)
    ws = services.workspace
    ws.shared_envs.check_new(body.name, body.packages)

    def run() -> JobOutcome:
        view = ws.shared_envs.new(body.name, body.packages)
        return JobOutcome(f"shared environment {view.name} (Python {view.python}) created")

    return start_job(services, "shared-new", f"create shared environment {body.name}", run, origin)


@router.get("/shared-envs/{name}")
def get_shared_env(name: SharedEnvName, ws: WorkspaceDep) -> SharedEnvPublic:
    return SharedEnvPublic.model_validate(ws.shared_envs.show(name))


@router.post("/shared-envs/{name}/packages", status_code=202)
def add_shared_packages(
    name: SharedEnvName, body: PackagesChange, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """The nodes using it get its new lock (and go stale)."""
    check_trusted_inputs(body.packages)
    ws = services.workspace
    ws.shared_envs.show(name)  # 404 at once

    def run() -> JobOutcome:
        view = ws.shared_envs.add(name, body.packages)
        return JobOutcome(f"shared environment {name}: {', '.join(view.direct)}")

    return start_job(services, "shared-add", f"{name}: add {', '.join(body.packages)}", run, origin)


@router.delete("/shared-envs/{name}/packages", status_code=202)
def remove_shared_packages(
    name: SharedEnvName, packages: PackageNames, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    validate_package_names(packages)
    ws = services.workspace
    ws.shared_envs.show(name)

    def run() -> JobOutcome:
        view = ws.shared_envs.remove(name, packages)
        return JobOutcome(f"shared environment {name}: {', '.join(view.direct) or 'no packages'}")

    return start_job(
        services, "shared-remove", f"{name}: remove {', '.join(packages)}", run, origin
    )
