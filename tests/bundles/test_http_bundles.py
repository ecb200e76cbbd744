"""A bundle served over HTTP, read with the headers given for that call (a private server)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nodepipe.bundles import loaders
from nodepipe.bundles.errors import BundleError, IncludeNotFoundError
from nodepipe.bundles.loaders import Loaders, PackageLoader
from nodepipe.bundles.resolve import resolve_bundle
from support.bundle_worlds import write_bundle
from support.silent_server import silent_server

TOKEN = "Bearer s3cret-token"


class TokenOnly(SimpleHTTPRequestHandler):
    """Serves its folder to requests carrying the token; 401 to the others."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _allowed(self) -> bool:
        if self.headers.get("Authorization") == TOKEN:
            return True
        self.send_error(401)
        return False

    def do_GET(self) -> None:
        if self._allowed():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._allowed():
            super().do_HEAD()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``tmp_path/site`` served on loopback; its base URL."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(TokenOnly, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_a_bundle_and_its_relative_include_are_read_over_http_with_headers(
    tmp_path: Path, served: str
) -> None:
    site = tmp_path / "site"
    write_bundle(site / "features", "features", {"clean": "print('clean')\n"})
    write_bundle(site / "train", "train", {"prep": ""}, includes={"f": {"source": "../features"}})
    options = {"http": {"headers": {"Authorization": TOKEN}}}
    loaders = Loaders(package=PackageLoader([]))
    pipeline = resolve_bundle(
        f"{served}/train", cwd=tmp_path / "elsewhere", loaders=loaders, storage_options=options
    )
    assert [n.name for n in pipeline.nodes] == ["prep", "f.clean"]
    (include,) = pipeline.includes
    assert (include.location.loader, include.location.uri) == ("fsspec", f"{served}/features")
    clean = pipeline.nodes[1]
    assert clean.files.files("nodes/clean/code") == ("main.py", "uv.lock")
    assert clean.files.read_bytes("nodes/clean/code/main.py") == b"print('clean')\n"
    with pytest.raises(IncludeNotFoundError, match=r"no pipeline\.toml there"):
        resolve_bundle(f"{served}/train", cwd=tmp_path, loaders=Loaders())


@pytest.fixture
def silent() -> Iterator[str]:
    """A server on loopback that accepts connections and never answers; its base URL."""
    with silent_server() as url:
        yield url


def test_a_server_that_never_answers_is_refused_in_time_not_waited_on(
    tmp_path: Path, silent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loaders, "HTTP_READ_TIMEOUT_S", 0.5, raising=False)
    outcome: list[BaseException | None] = []

    def resolve() -> None:
        try:
            resolve_bundle(f"{silent}/features", cwd=tmp_path, loaders=Loaders())
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(30)  # aiohttp's own default: five minutes, twice (HEAD, then GET)
    assert not worker.is_alive(), "still waiting on a server that never answers"
    (error,) = outcome
    assert isinstance(error, BundleError)
    assert "its server did not answer in time" in str(error)
    assert "nothing was changed" in str(error)
