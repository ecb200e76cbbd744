"""A node's conda packages: show them, and add, remove or relock them in the background.

The seam between the app and ``services.envs.conda`` (``nodepipe env conda ...``): changes are
jobs like every environment change (``routes.environments``); a local channel or package file
a solve would read must be one no other user can change: every channel is checked as the solver
will take it (the node's own, the request's, or the workspace's default), after a path is made a
``file://`` URL, and so is every ``url=``, ``channel=`` or ``channel::`` a spec names (the
request's and the node's own).
"""

from __future__ import annotations

from fastapi import Query

from nodepipe.api.deps import OriginDep, ServicesDep, WorkspaceDep
from nodepipe.api.routes.environments import environment_job
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.environments import CondaPackagesAdd, LockRequest
from nodepipe.api.schemas.events import JobPublic
from nodepipe.domain.environment_file import conda_spec_name
from nodepipe.schemas.environments import CondaEnvironmentPublic
from nodepipe.services.envs.trust import check_trusted_inputs

router = resource_router(
    "/pipelines/{pipeline}/nodes/{node}/environment/conda", tags=["environments"], errors=(404,)
)


@router.get("")
def get_conda(pipeline: str, node: str, ws: WorkspaceDep) -> CondaEnvironmentPublic:
    return CondaEnvironmentPublic.model_validate(ws.conda.show(node, pipeline))


@router.post("/packages", status_code=202)
def add_conda_packages(
    pipeline: str, node: str, body: CondaPackagesAdd, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Conda specs: solved, locked and installed into the node's prefix (or nothing changes)."""
    for spec in body.specs:
        conda_spec_name(spec)  # 422 at once
    conda = services.workspace.conda
    check_trusted_inputs(sources=conda.solver_sources(node, body.specs, body.channels, pipeline))
    return environment_job(
        services,
        pipeline,
        node,
        "env-conda-add",
        "add conda " + ", ".join(body.specs),
        lambda n, p: conda.add(n, body.specs, body.channels, p),
        origin,
    )


@router.delete("/packages", status_code=202)
def remove_conda_packages(
    pipeline: str,
    node: str,
    services: ServicesDep,
    origin: OriginDep,
    packages: list[str] = Query(min_length=1, description="Conda packages to remove."),
) -> JobPublic:
    for package in packages:
        conda_spec_name(package)
    conda = services.workspace.conda
    check_trusted_inputs(sources=conda.solver_sources(node, None, None, pipeline, packages))
    return environment_job(
        services,
        pipeline,
        node,
        "env-conda-remove",
        "remove conda " + ", ".join(packages),
        lambda n, p: services.workspace.conda.remove(n, packages, p),
        origin,
    )


@router.post("/lock", status_code=202)
def relock_conda(
    pipeline: str, node: str, body: LockRequest, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    check_trusted_inputs(sources=services.workspace.conda.solver_sources(node, pipeline=pipeline))
    return environment_job(
        services,
        pipeline,
        node,
        "env-conda-lock",
        "relock conda" + (" (upgrade)" if body.upgrade else ""),
        lambda n, p: services.workspace.conda.lock(n, body.upgrade, p),
        origin,
    )
