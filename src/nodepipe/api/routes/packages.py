"""Packages over HTTP: build a pipeline into the workspace's ``dist/``, list and download what
was built, publish it to an index, pull a package as a new pipeline.

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
    PackageBuild,
    PackageFilePublic,
    PackagePublish,
    PackagePull,
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
