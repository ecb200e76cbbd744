"""``/pipelines/{pipeline}/nodes/{node}/code``: the node's code files listed, read with a
version, and saved over that version (a file changed on disk meanwhile is a 409 of kind
``changed_on_disk``; the app offers Reload or Overwrite). Saving makes the node stale when its
code really changed; every canvas hears of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from nodepipe.api.deps import ChangesGraph, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.files import CODE_FILE, CodeFileSave, CodeTextPublic, FileListingPublic

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
    """Save a code file (atomically) over the version read; a new file with version null."""
    saved = ws.code_files.write(
        node, body.file, body.text, body.version, overwrite=body.overwrite, pipeline=pipeline
    )
    return CodeTextPublic.model_validate(saved)
