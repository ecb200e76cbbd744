"""``package publish FILE`` of something that is not a wheel or an sdist, or does not exist, is
the caller's mistake: nodepipe says so in its own words (exit 2) and never contacts the index.
Only what the index answers is blamed on the index: the same command with a real wheel reaches
an index that refuses it, and that error names the index.
"""

from __future__ import annotations

import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from support.package_index import offline_env
from support.wheels import build_wheel


class RefusingIndex(ThreadingHTTPServer):
    """An index on loopback that answers every request 403 and counts them."""

    requests: int = 0


class _Refuse(BaseHTTPRequestHandler):
    server: RefusingIndex

    def _refuse(self) -> None:
        self.server.requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._refuse()

    def do_POST(self) -> None:
        self._refuse()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RefusingIndex]:
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.pypirc of the machine's
    monkeypatch.setenv("TWINE_USERNAME", "alice")
    monkeypatch.setenv("TWINE_PASSWORD", "pw")
    server = RefusingIndex(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_file_that_is_not_a_wheel_or_sdist_is_refused_without_asking_the_index(
    lab: nodepipe.Workspace, refusing: RefusingIndex, tmp_path: Path, cli: CliRunner
) -> None:
    url = f"http://127.0.0.1:{refusing.server_address[1]}/"
    wheel = build_wheel(tmp_path, "goodpkg", "1.0", "X = 1\n")
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    fake_wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    fake_wheel.write_text("not a zip")
    badly_named = tmp_path / "archive.tar.gz"
    with tarfile.open(badly_named, "w:gz"):
        pass
    cases = {
        str(text): "is not a wheel",
        str(fake_wheel): "is not a wheel",
        str(badly_named): "is not a wheel",
        str(tmp_path): "it is a folder, not a regular file",
        str(tmp_path / "missing-1.0.tar.gz"): "no such file",
    }
    for file, words in cases.items():
        refused = cli("package", "publish", str(wheel), file, "--repository-url", url)
        assert refused.code == 2, refused.stdout + refused.stderr
        assert words in refused.stderr and file in refused.stderr
        assert url not in refused.stderr, "the index is blamed for a local mistake"
        assert refusing.requests == 0, f"the index was asked something for {file}"

    refused = cli("package", "publish", str(wheel), "--repository-url", url)
    assert refused.code == 2
    assert refusing.requests > 0
    assert f"{url} refused the credentials (HTTP 403" in refused.stderr
