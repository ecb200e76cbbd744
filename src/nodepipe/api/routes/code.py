"""``/pipelines/{pipeline}/nodes/{node}/code``: the node's code files listed, read with a
version, a new file's name checked before its text is written, and saved, renamed or deleted
over that version (a file changed on disk meanwhile is a 409 of kind ``changed_on_disk``; the
app offers Reload or Overwrite). A change makes the node stale when its code really changed;
every canvas hears of it. main.py, params.yaml, pyproject.toml and the lock files are neither
renamed nor deleted (422)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from nodepipe.api.deps import ChangesGraph, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.files import (
    CODE_FILE,
    CodeFileRename,
    CodeFileSave,
    CodeTextPublic,
    FileListingPublic,
)

router = resource_router("/pipelines/{pipeline}/nodes/{node}", tags=["code"], errors=(404, 409))

CodeFile = Annotated[
    str, Query(description="Relative to code/, e.g. main.py.", max_length=1024, pattern=CODE_FILE)
]


@router.get("/code")
def list_code(pipeline: str, node: str, ws: WorkspaceDep) -> FileListingPublic:
    """The node's code files (main.py, modules, params.yaml, pyproject.toml, uv.lock...):
    never its environment, caches or outputs."""
    return FileListingPublic.model_validate(ws.code_files.list(node, pipeline))


@router.get("/code/file")
def read_code(
    pipeline: str, node: str, file: CodeFile, ws: WorkspaceDep, response: Response
) -> CodeTextPublic:
    """A code file's text and its version (also the ETag)."""
    text = ws.code_files.read(node, file, pipeline)
    response.headers["ETag"] = f'"{text.version}"'
    return CodeTextPublic.model_validate(text)


@router.put("/code/file", dependencies=[ChangesGraph])
def save_code(pipeline: str, node: str, body: CodeFileSave, ws: WorkspaceDep) -> CodeTextPublic:
    """Save a code file (atomically) over the version read; a new file with version null. A
    pyproject.toml naming a new local path another user could change is refused (422)."""
    saved = ws.code_files.write(
        node,
        body.file,
        body.text,
        body.version,
        overwrite=body.overwrite,
        pipeline=pipeline,
        trusted_paths=True,
    )
    return CodeTextPublic.model_validate(saved)


@router.get("/code/name-check", status_code=204)
def check_new_code_file(pipeline: str, node: str, file: CodeFile, ws: WorkspaceDep) -> Response:
    """Whether a new code file may be saved as ``file``: 204, or what that save would refuse
    (a name the app does not take or write, 422; a node read-only here, a file already
    there, 409). Nothing is written."""
    ws.code_files.check_new(node, file, pipeline=pipeline)
    return Response(status_code=204)


@router.post("/code/rename", dependencies=[ChangesGraph])
def rename_code(pipeline: str, node: str, body: CodeFileRename, ws: WorkspaceDep) -> CodeTextPublic:
    """Rename a code file read at ``version`` to a name no file has; answers it as renamed."""
    renamed = ws.code_files.rename(node, body.file, body.to, body.version, pipeline=pipeline)
    return CodeTextPublic.model_validate(renamed)


@router.delete("/code/file", status_code=204, dependencies=[ChangesGraph])
def delete_code(
    pipeline: str,
    node: str,
    file: CodeFile,
    version: Annotated[str, Query(description="The version read.", max_length=128)],
    ws: WorkspaceDep,
) -> Response:
    """Delete a code file, if it is still at the version read."""
    ws.code_files.delete(node, file, version, pipeline=pipeline)
    return Response(status_code=204)
