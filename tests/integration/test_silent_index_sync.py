"""A node's environment sync against a server that accepts the connection and never answers
(a hung index, the server a lock downloads from): one wait of ``UV_HTTP_TIMEOUT``, the server
named, ``UV_HTTP_RETRIES`` to retry. Real uv, a real lock, a real silent socket on loopback."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from support.package_index import offline_env
from support.silent_server import silent_server
from support.wheels import toy_index


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Nothing on stderr: the CLI's errors are read from there."""


@contextmanager
def wheel_server(folder: Path) -> Iterator[int]:
    """The wheels of ``folder`` served on loopback as a simple index (``/simple/NAME/``);
    yields the port."""
    for wheel in folder.glob("*.whl"):
        project = folder / "simple" / wheel.name.split("-")[0]
        project.mkdir(parents=True, exist_ok=True)
        links = [f'<a href="/{w.name}">{w.name}</a>' for w in folder.glob(f"{project.name}-*")]
        (project / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    handler = partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_sync_against_a_server_gone_silent_waits_once_and_names_it(
    lab: nodepipe.Workspace, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The syncs after `package pull` (and every other) waited uv's silence four times
    (three retries: about 127 s with uv's 30 s) and said "the package index cannot be
    reached". Now one wait, the server by host and port, and the user's retries honoured."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    for name in ("UV_OFFLINE", "UV_HTTP_RETRIES", "UV_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    lab.pipelines.new("p")
    lab.nodes.new("p", "model")
    wheels = toy_index(tmp_path / "wheels")
    with wheel_server(wheels) as port:
        monkeypatch.setenv("UV_INDEX_URL", f"http://127.0.0.1:{port}/simple/")
        added = cli("env", "add", "model", "toypkg==1.0")
        assert added.code == 0, added.stderr
    lock = (lab.nodes.path("model") / "code" / "uv.lock").read_text()
    assert f"http://127.0.0.1:{port}/toypkg-1.0" in lock, lock  # the sync downloads there
    shutil.rmtree(lab.context.layout.uv_cache_dir)
    shutil.rmtree(lab.nodes.path("model") / "code" / ".venv")

    monkeypatch.setenv("UV_HTTP_TIMEOUT", "2")
    with silent_server(port):
        began = time.monotonic()
        once = cli("env", "sync", "model")
        took = time.monotonic() - began
        monkeypatch.setenv("UV_HTTP_RETRIES", "1")  # a flaky network: the user asks again
        began = time.monotonic()
        twice = cli("env", "sync", "model")
        took_twice = time.monotonic() - began
    assert once.code == 7, once.stdout + once.stderr
    said = " ".join(once.stderr.split())
    server = f"the package index 127.0.0.1:{port}"
    assert f"{server} accepted the connection but sent nothing for 2 s (could not" in said, said
    assert "set UV_HTTP_RETRIES to retry" in said
    assert took < 5, took  # four waits of 2 s before
    assert twice.code == 7 and "sent nothing for 2 s, 2 times" in " ".join(twice.stderr.split())
    assert took_twice >= 4
