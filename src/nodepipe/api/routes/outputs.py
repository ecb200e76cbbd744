"""``/pipelines/{pipeline}/nodes/{node}/outputs``: a node's data/ and reports/ listed, and one
file of them served, whole or a byte range (``Range: bytes=…``, for a CSV's or Parquet file's
head), streamed in chunks so a huge output is never loaded into memory.

Every file is served with ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy
that sandboxes it (no scripts, no same origin, nothing loaded but inline styles and data:
images): an HTML report or an SVG opened straight from its address runs nothing, and the app
shows HTML reports in a sandboxed iframe besides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import Header, Query
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from nodepipe.api.deps import WorkspaceDep
from nodepipe.api.routing import error_responses, resource_router
from nodepipe.api.schemas.files import OUTPUT_FILE, FileListingPublic
from nodepipe.domain.node_files import OpenedFile

router = resource_router("/pipelines/{pipeline}/nodes/{node}", tags=["outputs"], errors=(404,))

CHUNK = 64 * 1024
SANDBOX = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "frame-ancestors 'self'"
)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file's bytes", "content": {"application/octet-stream": {}}},
    206: {"description": "The asked-for byte range", "content": {"application/octet-stream": {}}},
    416: {"description": "The byte range lies past the end of the file"},
}


@router.get("/outputs")
def list_outputs(pipeline: str, node: str, ws: WorkspaceDep) -> FileListingPublic:
    """The files of the node's data/ (its last good outputs) and reports/, with sizes, dates
    and how each is previewed."""
    return FileListingPublic.model_validate(ws.outputs.list(node, pipeline))


@router.get(
    "/outputs/file",
    response_class=StreamingResponse,
    responses={**error_responses(404), **_FILE_RESPONSES},
)
def read_output(
    pipeline: str,
    node: str,
    ws: WorkspaceDep,
    file: Annotated[
        str, Query(description="data/… or reports/…", max_length=1024, pattern=OUTPUT_FILE)
    ],
    download: bool = False,
    range_: Annotated[str | None, Header(alias="range", include_in_schema=False)] = None,
) -> Response:
    """One output file: inline (to preview) or as a download; a ``Range`` header asks for
    part of it."""
    opened = ws.outputs.open(node, file, pipeline)
    span = _span(range_, opened.size)
    if span is None:
        opened.handle.close()
        return Response(status_code=416, headers={"Content-Range": f"bytes */{opened.size}"})
    start, length = span
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(length),
        "Content-Security-Policy": SANDBOX,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
        "Last-Modified": opened.modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Content-Disposition": _disposition(opened, download),
    }
    status = 200
    if range_ is not None and (start, length) != (0, opened.size):
        status = 206
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{opened.size}"
    return StreamingResponse(
        _chunks(opened.handle, start, length),
        status_code=status,
        media_type=opened.media_type,
        headers=headers,
        background=BackgroundTask(opened.handle.close),
    )


def _span(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) to send: the whole file unless ``header`` is one satisfiable byte range;
    None for a range past the end (a 416). A header of another form is ignored (RFC 9110)."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return 0, size
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = min(int(last), size)
        return size - length, length
    start = int(first)
    if start >= size:
        return (0, 0) if size == 0 else None
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return 0, size
    return start, end - start + 1


def _chunks(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:  # the file shrank while it was sent
                return
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _disposition(opened: OpenedFile, download: bool) -> str:
    name = opened.path.rsplit("/", 1)[-1]
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    how = "attachment" if download else "inline"
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
