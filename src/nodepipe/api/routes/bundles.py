"""Bundles over HTTP: a pipeline downloaded as a .zip, a .zip uploaded as a new pipeline, a
pipeline's includes listed and updated in place, and the bundle inputs it declares.

An upload is unpacked and checked while the request lasts (a bad or hostile zip is a 422 and
leaves nothing); the import itself, which syncs every node's environment, is a background
job (202), like the other routes that make pipelines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import File, Form, UploadFile
from fastapi.responses import StreamingResponse

from nodepipe.api.deps import ChangesGraph, OriginDep, ServicesDep, WorkspaceDep
from nodepipe.api.routes.jobs import start_job
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.bundles import DeclaredInputsPublic, IncludeUpdate, InputsDeclare
from nodepipe.api.schemas.events import JobPublic
from nodepipe.api.schemas.fields import Name
from nodepipe.domain.errors import InvalidInputError, NameTakenError
from nodepipe.live.jobs import JobOutcome
from nodepipe.schemas.bundles import IncludePublic, IncludeUpdatePublic
from nodepipe.services.bundles.archives import StagedBundle, export_archive, stage_archive
from nodepipe.services.workspace import Workspace

router = resource_router(tags=["bundles"], errors=(404, 409))
CHUNK = 1024 * 1024
ZIP_TYPE = "application/zip"


class ZipResponse(StreamingResponse):
    media_type = ZIP_TYPE


@router.get(
    "/pipelines/{pipeline}/bundle.zip",
    response_class=ZipResponse,
    responses={200: {"content": {ZIP_TYPE: {"schema": {"type": "string", "format": "binary"}}}}},
)
def download_bundle(pipeline: str, ws: WorkspaceDep, with_data: bool = False) -> ZipResponse:
    """The pipeline exported as a bundle (``nodepipe bundle export``), zipped: the same
    pipeline gives the same bytes. ``with_data`` adds the nodes' outputs."""
    name, packed = export_archive(ws.context, pipeline, with_data)
    disposition = f'attachment; filename="{name}.zip"'
    return ZipResponse(_chunks(packed), headers={"Content-Disposition": disposition})


def _chunks(packed: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := packed.read(CHUNK):
            yield chunk
    finally:
        packed.close()


@router.post("/bundles", status_code=202)
def upload_bundle(
    archive: Annotated[UploadFile, File(description="A bundle as a .zip (bundle.zip)")],
    services: ServicesDep,
    origin: OriginDep,
    project: Annotated[str | None, Form(description="Project name or id (default)")] = None,
    name: Annotated[Name | None, Form(description="Tag of the new pipeline (the bundle's)")] = None,
) -> JobPublic:
    """Import an uploaded bundle as a new pipeline (``nodepipe bundle import``). The zip is
    unpacked and checked at once (422 for a bad one, nothing left behind), and so is the tag
    (``name``, else the bundle's: 409 about ``name`` when another pipeline has it) and the
    project; the import runs as a background job whose ``pipeline_id`` is the new pipeline."""
    ws = services.workspace
    staged = stage_archive(ws.context, archive.file)
    try:
        checked = ws.bundles.check(staged.directory, confined=True)  # nothing of the server's
        if not checked.ok:
            all_in = "`nodepipe bundle check` of the unzipped bundle"
            problems = "; ".join(checked.shown(all_in))
            raise InvalidInputError(f"the bundle is refused: {problems}")
        try:
            ws.bundles.check_import(name or checked.name or "", project)
        except NameTakenError as taken:  # the tag is this request's ``name``
            raise NameTakenError(str(taken), "name", hint=taken.hint) from taken
    except BaseException:
        staged.discard()
        raise
    title = name or checked.name or "bundle"
    return start_job(
        services,
        "import",
        f"import bundle {archive.filename or 'upload'!r} as {title!r}",
        lambda: _imported(ws, staged, project, name),
        origin,
    )


def _imported(
    ws: Workspace, staged: StagedBundle, project: str | None, name: str | None
) -> JobOutcome:
    try:
        result = ws.bundles.import_(staged.directory, project, name, confined=True)
    finally:
        staged.discard()
    view = result.view
    return JobOutcome(
        f"imported pipeline {view.pipeline.tag!r} ({len(view.nodes)} nodes)",
        view.pipeline.id,
        tuple(item.node.id for item in view.nodes),
    )


@router.get("/pipelines/{pipeline}/includes")
def list_includes(pipeline: str, ws: WorkspaceDep) -> list[IncludePublic]:
    """The pipeline's includes (``nodepipe pipeline includes``), at every depth."""
    return [IncludePublic.model_validate(found) for found in ws.bundles.includes(pipeline)]


@router.post("/pipelines/{pipeline}/includes/{namespace}/update", dependencies=[ChangesGraph])
def update_include(
    pipeline: str, namespace: str, body: IncludeUpdate, ws: WorkspaceDep
) -> IncludeUpdatePublic:
    """Re-read the include from where it was found and update its nodes in place (``nodepipe
    pipeline include --update``). Nodes the bundle no longer has are removed only with
    ``confirm_removals``; otherwise 409 lists them in ``nodes`` and nothing changes. A bundle
    whose inputs changed needs ``inputs`` (422 otherwise, nothing changed). Nodes
    edited here whose code the update would replace: a 409 of kind ``edited`` listing them,
    unless ``replace_edits``."""
    result = ws.bundles.update(
        pipeline,
        namespace,
        body.confirm_removals,
        replace_edits=body.replace_edits,
        inputs=body.inputs,
    )
    return IncludeUpdatePublic.model_validate(result)


@router.put("/pipelines/{pipeline}/inputs", dependencies=[ChangesGraph])
def declare_inputs(pipeline: str, body: InputsDeclare, ws: WorkspaceDep) -> DeclaredInputsPublic:
    """Declare the pipeline's bundle inputs, replacing the ones it declared (what ``nodepipe
    bundle export --input NAME=NODE`` remembers; ``{}``: ``--no-inputs``): an export or a
    package of it writes them as ``[inputs]``. Refused, changing nothing: a node the pipeline
    does not show (404, naming the input), a node that already reads that slot from a node of
    the pipeline (422)."""
    declared = ws.bundles.declare_inputs(pipeline, body.inputs)
    return DeclaredInputsPublic(
        declared_inputs={name: list(node_ids) for name, node_ids in declared.items()}
    )
