"""A node's environment: show it, and change it in the background (uv can take a while).

The thin seam between the app and ``services.environments`` (``nodepipe env ...``): adding
or removing packages, another Python, relocking, syncing, refreshing a snapshot and
installing a Jupyter kernel are jobs; their end arrives on the event stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Query

from nodepipe.api.deps import OriginDep, ServicesDep, WorkspaceDep
from nodepipe.api.routes.jobs import start_job
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.environments import (
    CodePathAdd,
    EnvironmentImport,
    EnvironmentRestore,
    IsolationUpdate,
    LockRequest,
    PackagesAdd,
    PythonUpdate,
)
from nodepipe.api.schemas.events import JobPublic
from nodepipe.domain.errors import InvalidInputError, NotFoundError
from nodepipe.domain.requirements import validate_package_names, validate_requirements
from nodepipe.live.jobs import JobOutcome
from nodepipe.schemas.environments import EnvironmentPublic
from nodepipe.services.envs.conda import CondaView
from nodepipe.services.envs.environments import EnvironmentView, added_folder
from nodepipe.services.envs.imported_files import check_sent, is_environment_file, sent_file
from nodepipe.services.envs.trust import check_trusted_inputs, check_trusted_interpreter

router = resource_router(
    "/pipelines/{pipeline}/nodes/{node}/environment", tags=["environments"], errors=(404, 409)
)

PackageNames = Annotated[list[str], Query(min_length=1, description="Packages to remove.")]


def environment_job(
    services: ServicesDep,
    pipeline: str,
    node: str,
    kind: str,
    what: str,
    change: Callable[[str, str], EnvironmentView | CondaView],
    origin: str,
    check: Callable[[str, str], None] | None = None,
) -> JobPublic:
    """Resolve the node now (404 at once), refuse at once what ``check`` refuses (quick checks
    of what the body names: a shared environment or node that does not exist is a 404 with
    its hint), change its environment in a job."""
    found = services.workspace.nodes.find(node, pipeline)
    pipeline_id = services.workspace.pipelines.get(pipeline).id
    if check is not None:
        check(found.id, pipeline_id)

    def run() -> JobOutcome:
        view = change(found.id, pipeline_id)
        done = f"{what} (Python {view.python})" if isinstance(view, EnvironmentView) else what
        return JobOutcome(f"{found.tag}: {done}", None, (found.id,))

    return start_job(services, kind, f"{found.tag}: {what}", run, origin)


@router.get("")
def get_environment(pipeline: str, node: str, ws: WorkspaceDep) -> EnvironmentPublic:
    return EnvironmentPublic.model_validate(ws.envs.show(node, pipeline))


@router.post("/packages", status_code=202)
def add_packages(
    pipeline: str, node: str, body: PackagesAdd, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Packages, or a local path, a snapshot, a shared checkout or a library node's package:
    locked and synced."""
    validate_requirements(body.requirements)  # 422 at once
    check_trusted_inputs(body.requirements, [body.path, body.shared], [body.snapshot])
    what = "add " + (
        ", ".join(body.requirements)
        or body.path
        or body.snapshot
        or body.shared
        or (f"library node {body.from_node}" if body.from_node else "")
    )
    return environment_job(
        services,
        pipeline,
        node,
        "env-add",
        what,
        lambda n, p: _add(services, n, p, body),
        origin,
        check=lambda n, p: _check_add(services, n, p, body),
    )


def _check_add(services: ServicesDep, node: str, pipeline: str, body: PackagesAdd) -> None:
    """What adding would refuse before it locks: a library node that cannot be used, a
    folder too large, a pin the node's inline script metadata rules out (422 at once, before
    a job)."""
    if body.requirements:
        services.workspace.envs.check_add(node, body.requirements, pipeline)
    if body.from_node is not None:
        services.workspace.external.check_from_node(node, body.from_node, pipeline, body.package)
    sources = [body.path, body.snapshot, body.shared, body.from_node]
    if body.requirements or sum(s is not None for s in sources) != 1:
        return  # not one source: the job says what to give
    for folder, source in ((body.shared, "shared"), (body.path, "path")):
        if folder is not None:
            added_folder(folder, node, source, body.large)


def _add(services: ServicesDep, node: str, pipeline: str, body: PackagesAdd) -> EnvironmentView:
    if body.from_node is not None:
        return services.workspace.external.add_from_node(
            node, body.from_node, pipeline, body.package
        )
    return services.workspace.envs.add(
        node,
        body.requirements,
        pipeline=pipeline,
        path=body.path,
        snapshot=body.snapshot,
        shared=body.shared,
        large=body.large,
    )


@router.delete("/packages", status_code=202)
def remove_packages(
    pipeline: str, node: str, packages: PackageNames, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    validate_package_names(packages)
    envs = services.workspace.envs
    return environment_job(
        services,
        pipeline,
        node,
        "env-remove",
        "remove " + ", ".join(packages),
        lambda n, p: envs.remove(n, packages, p),
        origin,
    )


@router.put("/python", status_code=202)
def set_python(
    pipeline: str, node: str, body: PythonUpdate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Use another installed interpreter (never downloaded); relocked and synced. Refused at
    once: a node whose environment cannot change, no installed Python answering ``version``
    (422)."""
    check_trusted_interpreter(body.version)
    envs = services.workspace.envs
    return environment_job(
        services,
        pipeline,
        node,
        "env-python",
        f"use Python {body.version}",
        lambda n, p: envs.set_python(n, body.version, p),
        origin,
        check=lambda n, p: envs.check_python(n, body.version, p),
    )


@router.put("/isolation", status_code=202)
def set_isolation(
    pipeline: str, node: str, body: IsolationUpdate, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Back to its own environment (same packages), a shared environment, or an existing
    interpreter (not isolated). Refused at once, before the job: a node whose environment
    cannot change, a shared environment that does not exist (404), an interpreter that does
    not run as Python (422)."""
    isolation = services.workspace.isolation
    words = {
        "own": "an environment of its own",
        "shared": f"use the shared environment {body.shared_env}",
        "interpreter": f"run with {body.interpreter} (not isolated)",
    }

    target = body.shared_env if body.mode == "shared" else body.interpreter
    if body.mode == "interpreter" and target is not None:
        check_trusted_interpreter(target)

    def change(node_id: str, pipeline_id: str) -> EnvironmentView:
        """What the body lacks fails the job, saying so (the schema allows leaving it out)."""
        if body.mode == "own":
            return isolation.detach(node_id, pipeline_id)
        if body.mode == "shared":
            if target is None:
                raise InvalidInputError("mode 'shared' needs shared_env")
            return isolation.use_shared(node_id, target, pipeline_id)
        if target is None:
            raise InvalidInputError("mode 'interpreter' needs the interpreter's absolute path")
        return isolation.use_interpreter(node_id, target, pipeline_id)

    def check(node_id: str, pipeline_id: str) -> None:
        if body.mode == "own" or target is not None:
            isolation.check(node_id, body.mode, target, pipeline_id)

    return environment_job(
        services,
        pipeline,
        node,
        "env-isolation",
        words[body.mode],
        change,
        origin,
        check=check,
    )


@router.post("/lock", status_code=202)
def relock(
    pipeline: str, node: str, body: LockRequest, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    return environment_job(
        services,
        pipeline,
        node,
        "env-lock",
        "relock" + (" (upgrade)" if body.upgrade else ""),
        lambda n, p: services.workspace.envs.lock(n, body.upgrade, p),
        origin,
    )


@router.post("/sync", status_code=202)
def sync(pipeline: str, node: str, services: ServicesDep, origin: OriginDep) -> JobPublic:
    return environment_job(
        services,
        pipeline,
        node,
        "env-sync",
        "sync with the lock",
        lambda n, p: services.workspace.envs.sync(n, p),
        origin,
    )


@router.post("/snapshots/{snapshot}/refresh", status_code=202)
def refresh_snapshot(
    pipeline: str,
    node: str,
    snapshot: str,
    services: ServicesDep,
    origin: OriginDep,
    force: Annotated[bool, Query(description="Discard local edits in the snapshot.")] = False,
) -> JobPublic:
    """Refresh, relock and sync; refused (the job fails, naming them) over local edits. A
    snapshot the node does not have is a 404 at once."""
    snapshots = services.workspace.envs.show(node, pipeline).snapshots
    if snapshot not in snapshots:
        known = ", ".join(snapshots) or "none"
        raise NotFoundError(f"node {node!r} has no snapshot {snapshot!r} (snapshots: {known})")
    check_trusted_inputs(sources=[snapshots[snapshot]])
    return environment_job(
        services,
        pipeline,
        node,
        "env-snapshot",
        f"refresh snapshot {snapshot}",
        lambda n, p: services.workspace.envs.update_snapshot(n, snapshot, p, force),
        origin,
    )


@router.post("/restore", status_code=202)
def restore_environment(
    pipeline: str, node: str, body: EnvironmentRestore, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Put back the environment the node ran with in ``run`` (its pyproject, locks and Python
    request, synced frozen from the stored lock); code and parameters stay. A run the node
    took no part in: 404; one that stored no environment for it: 422."""
    services.workspace.run_envs.show(node, body.run, pipeline)  # refused now, not in the job
    return environment_job(
        services,
        pipeline,
        node,
        "env-restore",
        f"restore the environment of run {body.run}",
        lambda n, p: services.workspace.run_envs.restore(n, body.run, p),
        origin,
    )


@router.post("/import", status_code=202)
def import_environment_file(
    pipeline: str, node: str, body: EnvironmentImport, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Add a requirements file's packages, or place an environment file (``pip:`` into the uv
    project, conda packages into the conda part). Checked at once (422): it may name no file,
    folder or local channel of the server."""
    check_sent(body.file_name, body.text)
    ws = services.workspace
    if is_environment_file(body.file_name):  # the node's own or the workspace's channels
        check_trusted_inputs(sources=ws.conda.solver_sources(node, None, None, pipeline))

    def change(node_id: str, pipeline_id: str) -> EnvironmentView | CondaView:
        with sent_file(ws.context, body.file_name, body.text) as file:
            if is_environment_file(body.file_name):
                return ws.conda.import_file(node_id, file, pipeline_id)
            return ws.envs.import_requirements(node_id, file, pipeline_id, local_files=False)

    def check(node_id: str, pipeline_id: str) -> None:  # a requirements file: 422 at once
        if not is_environment_file(body.file_name):
            with sent_file(ws.context, body.file_name, body.text) as file:
                ws.envs.check_import(node_id, file, pipeline_id, local_files=False)

    return environment_job(
        services, pipeline, node, "env-import", f"import {body.file_name}", change, origin, check
    )


@router.post("/code-paths")
def add_code_path(
    pipeline: str, node: str, body: CodePathAdd, ws: WorkspaceDep
) -> EnvironmentPublic:
    """Put a folder on the node's import path at launch; its edits make the node stale."""
    check_trusted_inputs(folders=[body.path])
    added = ws.external.code_path_add(node, body.path, pipeline, body.large)
    return EnvironmentPublic.model_validate(added)


@router.delete("/code-paths")
def remove_code_path(
    pipeline: str,
    node: str,
    path: Annotated[str, Query(min_length=1, description="The folder to take off.")],
    ws: WorkspaceDep,
) -> EnvironmentPublic:
    return EnvironmentPublic.model_validate(ws.external.code_path_remove(node, path, pipeline))


@router.post("/kernel", status_code=202)
def install_kernel(pipeline: str, node: str, services: ServicesDep, origin: OriginDep) -> JobPublic:
    """A Jupyter kernel running this node's environment (removed with the node)."""
    ws = services.workspace
    found = ws.nodes.find(node, pipeline)

    def run() -> JobOutcome:
        spec = ws.envs.kernel(found.id, ws.pipelines.get(pipeline).id)
        return JobOutcome(f"{found.tag}: Jupyter kernel installed at {spec}", None, (found.id,))

    return start_job(services, "env-kernel", f"{found.tag}: install a kernel", run, origin)
