"""Serving the built web app: hashed assets cached for good, every other page gets index.html.

These files hold no data and are served without a credential (see ``security``), never in a
frame of another page.

The Vite build writes into ``nodepipe/api/static/`` (part of the wheel, not of git). Without a
build, ``/`` explains how to make one instead of failing obscurely.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>nodepipe</title>
<body style="font-family:system-ui;margin:4rem;max-width:42rem">
<h1>The nodepipe web app is not built</h1>
<p>The API is up (<code>/api/docs?token=TOKEN</code>, with the token of the link the server
printed). To build the app, run
<code>make web</code> (or <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>).</p>
</body>"""


_NOT_FRAMED = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}
"""No page may frame the app: a tab's credential is in its sessionStorage, which a frame of
the app inside another server's page on the same host (same site, other port) would use."""


def is_built(directory: Path = STATIC_DIR) -> bool:
    return (directory / "index.html").is_file()


def mount_static(app: FastAPI, directory: Path = STATIC_DIR) -> None:
    """Serve the app from ``directory`` under ``/`` (API routes must be added first)."""
    if (directory / "assets").is_dir():
        app.mount("/assets", _ImmutableFiles(directory=directory / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def page(path: str) -> Response:
        if path.startswith("api/"):  # a 405 naming the methods it has, else a 404
            raise HTTPException(405)
        if not is_built(directory):
            return HTMLResponse(_NOT_BUILT, status_code=503, headers=_NOT_FRAMED)
        candidate = _file_in(directory, path)
        if candidate is not None:
            return FileResponse(candidate, headers=_NOT_FRAMED)
        return FileResponse(
            directory / "index.html", headers={"Cache-Control": "no-cache", **_NOT_FRAMED}
        )


def _file_in(directory: Path, path: str) -> Path | None:
    """The file ``path`` names inside ``directory``, if there is one.

    A path no file system can hold (a NUL byte, a name longer than it allows) names none: the
    page is the app's, as for any other unknown path, not a server error.
    """
    if not path:
        return None
    try:
        candidate = (directory / path).resolve()
        inside = candidate.is_relative_to(directory.resolve())
        return candidate if inside and candidate.is_file() else None
    except (OSError, ValueError):
        return None


class _ImmutableFiles(StaticFiles):
    """Vite puts a content hash in every asset name: they never change, cache them for a year."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
