"""Packages over HTTP: build a pipeline (or one node, as a library) into the workspace's
``dist/``, list and download what was built, publish it to an index, pull a package as a new
pipeline or include it in one (after reading the inputs it needs fed).

Build, publish and pull are background jobs (202), like the other long operations; their
errors carry the hints the web app words as its menu items. A pull from a web request takes a
URL or ``name==version``, never a path on the server; or a package file the browser uploads
(``/packages/upload``: read and checked while the request lasts, 422 and nothing left for a
file that is not a nodepipe package or is over the server's limit; kept in a private scratch
folder until the pull job is over).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, UploadFile
from fastapi.responses import FileResponse

from nodepipe.api.deps import OriginDep, ServicesDep, WorkspaceDep
from nodepipe.api.routes.jobs import start_job
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.events import JobPublic
from nodepipe.api.schemas.packages import (
    LibraryBuild,
    PackageBuild,
    PackageFilePublic,
    PackageInclude,
    PackageInputsPublic,
    PackagePublish,
    PackagePull,
    PackageSource,
)
from nodepipe.live.jobs import JobOutcome
from nodepipe.services.packages.service import PullResult, StagedPackage
from nodepipe.services.workspace import Workspace

router = resource_router(tags=["packages"], errors=(404, 409))
WHEEL_TYPE = "application/octet-stream"


@router.post("/pipelines/{pipeline}/package", status_code=202)
def build_package(
    pipeline: str, body: PackageBuild, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Build the pipeline as a wheel and an sdist into the workspace's ``dist/`` (``nodepipe
    package build``), as a background job."""
    ws = services.workspace

    def build() -> JobOutcome:
        built = ws.packages.build(
            pipeline, body.alias, body.version, ws.packages.dist_dir, body.with_data
        )
        said = "; ".join((f"built {built.wheel.name} and {built.sdist.name}", *built.warnings))
        return JobOutcome(said)

    return start_job(services, "build", f"build package of {pipeline!r}", build, origin)


@router.post("/pipelines/{pipeline}/nodes/{node}/package", status_code=202)
def build_library(
    pipeline: str, node: str, body: LibraryBuild, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Build the node as an importable library, a wheel and an sdist, into the workspace's
    ``dist/`` (``nodepipe package build --library NODE``), as a background job. A node the
    pipeline does not show, a name or a version that is not valid: refused at once."""
    ws = services.workspace
    ws.packages.check_library(node, body.alias, body.version, pipeline)

    def build() -> JobOutcome:
        built = ws.packages.build_library(
            node, body.alias, body.version, ws.packages.dist_dir, body.with_data, pipeline
        )
        return JobOutcome(f"built {built.wheel.name} and {built.sdist.name}")

    return start_job(services, "build", f"build library package of {node!r}", build, origin)


@router.get("/packages")
def list_packages(ws: WorkspaceDep) -> list[PackageFilePublic]:
    """The wheels and sdists built into the workspace's ``dist/``."""
    return [
        PackageFilePublic(name=p.name, size=p.stat().st_size) for p in ws.packages.built_files()
    ]


@router.get(
    "/packages/{name}",
    response_class=FileResponse,
    responses={200: {"content": {WHEEL_TYPE: {"schema": {"type": "string", "format": "binary"}}}}},
)
def download_package(name: str, ws: WorkspaceDep) -> FileResponse:
    """One built file, to download."""
    path = ws.packages.built_file(name)
    return FileResponse(path, media_type=WHEEL_TYPE, filename=path.name)


@router.post("/packages/publish", status_code=202)
def publish_packages(body: PackagePublish, services: ServicesDep, origin: OriginDep) -> JobPublic:
    """Upload built files to an index (``nodepipe package publish``), as a background job;
    the username and password of the body are used for this upload only."""
    ws = services.workspace
    files = [ws.packages.built_file(name) for name in body.files]

    def publish() -> JobOutcome:
        result = ws.packages.publish(
            files,
            body.repository_url,
            body.repository,
            username=body.username,
            password=body.password,
        )
        parts = [f"uploaded {len(result.uploaded)}"] + (
            [f"skipped {len(result.skipped)} the index already holds"] if result.skipped else []
        )
        return JobOutcome(f"{', '.join(parts)} to {result.url}")

    where = body.repository_url or body.repository or "?"
    return start_job(services, "publish", f"publish {len(files)} files to {where}", publish, origin)


@router.post("/packages/pull", status_code=202)
def pull_package(body: PackagePull, services: ServicesDep, origin: OriginDep) -> JobPublic:
    """Import a package as a new pipeline (``nodepipe package pull``), as a background job
    whose ``pipeline_id`` is the new pipeline."""
    ws = services.workspace
    return start_job(
        services, "pull", f"pull package {body.source!r}", lambda: _pulled(ws, body), origin
    )


def _pulled(ws: Workspace, body: PackagePull) -> JobOutcome:
    options = {"headers": body.headers} if body.headers else None
    result = ws.packages.pull(
        body.source, body.alias, body.project, options, body.index_url, local_files=False
    )
    return _outcome(result)


@router.post("/packages/inputs")
def read_package_inputs(body: PackageSource, ws: WorkspaceDep) -> PackageInputsPublic:
    """The inputs a package declares, to feed when it is included (``[inputs]``): fetched,
    read and removed while the request lasts; nothing is kept or run."""
    options = {"headers": body.headers} if body.headers else None
    found = ws.packages.read_inputs(body.source, options, body.index_url, local_files=False)
    inputs = {name: list(keys) for name, keys in found.inputs.items()}
    return PackageInputsPublic(release=found.release, name=found.name, inputs=inputs)


@router.post("/pipelines/{pipeline}/includes", status_code=202)
def include_package(
    pipeline: str, body: PackageInclude, services: ServicesDep, origin: OriginDep
) -> JobPublic:
    """Include a package in the pipeline (``nodepipe package pull --into PIPELINE --alias NS
    --input NAME=NODE``): its nodes as ``NS.key`` in a group ``NS``, each input it declares
    fed by the node ``inputs`` names. Refused at once, before anything is fetched: a namespace
    that is taken or not a name, a locked pipeline, a feeding node the pipeline does not
    show (404 naming the input). The rest (the package's inputs fed, every one and only
    those) is checked by the background job, which then syncs the new nodes' environments."""
    ws = services.workspace
    ws.bundles.check_include(pipeline, body.namespace, body.inputs)
    options = {"headers": body.headers} if body.headers else None

    def include() -> JobOutcome:
        view = ws.packages.pull_into(
            body.source,
            pipeline,
            body.namespace,
            body.inputs,
            options,
            body.index_url,
            local_files=False,
        )
        added = [i.node.id for i in view.nodes if i.node.tag.startswith(f"{body.namespace}.")]
        said = f"included {body.source} in pipeline {view.pipeline.tag!r} as {body.namespace}"
        return JobOutcome(said, view.pipeline.id, tuple(added))

    where = f"include package {body.source!r} as {body.namespace!r}"
    return start_job(services, "include", where, include, origin)


@router.post("/packages/upload", status_code=202)
def upload_package(
    package: Annotated[
        UploadFile, File(description="A wheel (.whl) or sdist (.tar.gz) of a nodepipe package")
    ],
    services: ServicesDep,
    origin: OriginDep,
    alias: Annotated[str | None, Form(description="Tag of the new pipeline")] = None,
    project: Annotated[str | None, Form(description="Project name or id (default)")] = None,
) -> JobPublic:
    """Pull an uploaded package file as a new pipeline (``nodepipe package pull FILE``). The
    file is read and checked at once (422 for one that is not a nodepipe package or is larger
    than the server takes; nothing left); the import is a background job whose
    ``pipeline_id`` is the new pipeline, and the file is deleted when it is over."""
    ws = services.workspace
    name = package.filename or ""
    staged = ws.packages.pull_upload(package.file, name, services.settings.max_package_upload)
    try:
        return start_job(
            services,
            "pull",
            f"pull package {staged.file.name!r}",
            lambda: _pulled_upload(ws, staged, alias, project),
            origin,
        )
    except BaseException:
        staged.discard()
        raise


def _pulled_upload(
    ws: Workspace, staged: StagedPackage, alias: str | None, project: str | None
) -> JobOutcome:
    return _outcome(ws.packages.pull_staged(staged, alias, project))


def _outcome(result: PullResult) -> JobOutcome:
    view = result.imported.view
    return JobOutcome(
        f"pulled {result.source} as pipeline {view.pipeline.tag!r} ({len(view.nodes)} nodes)",
        view.pipeline.id,
        tuple(item.node.id for item in view.nodes),
    )
