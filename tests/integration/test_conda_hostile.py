"""What a hostile or broken conda channel can do, and what nodepipe makes of it: packages
crafted by hand (``support.conda_channel.crafted_package``) whose links or paths lead outside
the prefix, that list a file twice, that are truncated or changed after the lock; a channel
serving an endless ``repodata.json`` on loopback. Each is refused naming the package and the
path, leaving the node, its prefix and the package cache as they were."""

from __future__ import annotations

import bz2
import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from integration.test_conda import RUNS_TOOL, code, node_state
from nodepipe.domain.errors import EnvironmentBuildError, RequirementNotFoundError
from nodepipe.services.runs.service import RunRequest
from support.conda_channel import Member, conda_channel, crafted_package, index_channel

TOOL = b"#!/bin/sh\necho crafted-tool\n"


def cached(ws: nodepipe.Workspace, name: str) -> list[str]:
    """What the package cache holds of package ``name``."""
    return sorted(p.name for p in ws.context.layout.conda_cache_dir.glob(f"{name}-*"))


@pytest.mark.parametrize(
    ("members", "said_"),
    [
        (
            [("bin/ok", "file", TOOL), ("bin/tool", "symlink", "/etc/passwd")],
            "its link 'bin/tool' leads outside the prefix (to '/etc/passwd')",
        ),
        (
            [("bin/ok", "file", TOOL), ("lib", "symlink", "../../../..")],
            "its link 'lib' leads outside the prefix (to '../../../..')",
        ),
        (
            [("bin/ok", "file", TOOL), ("bin/../../escape", "file", b"x\n")],
            "its path 'bin/../../escape' leads outside the prefix",
        ),
        (
            [("bin/ok", "file", TOOL), ("bin/ok", "file", b"#!/bin/sh\necho other\n")],
            "it lists the file 'bin/ok' twice",
        ),
        (
            [("bin/ok", "file", TOOL), (".nodepipe-installed", "file", b"forged\n")],
            "its file '.nodepipe-installed' would replace what nodepipe keeps in the prefix",
        ),
        (
            [("bin/ok", "file", TOOL), ("bin/a\nb", "file", b"x\n")],
            "its path 'bin/a\\nb' holds a control character",
        ),
    ],
    ids=[
        "absolute-link",
        "climbing-link",
        "dotdot-path",
        "listed-twice",
        "forged-marker",
        "newline-path",
    ],
)
def test_a_package_leading_outside_its_prefix_is_refused_naming_it_and_leaves_nothing(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, members: list[Member], said_: str
) -> None:
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"),))
    crafted_package(channel, "evil-tool", members)
    index_channel(channel)
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    before = node_state(chain, "clean")
    refused = cli("env", "conda", "add", "clean", "evil-tool")
    assert refused.code == 2, refused.stdout
    message = " ".join(refused.stderr.split())
    assert "conda package evil-tool-1.0-0.tar.bz2" in message, message
    assert f"is refused: {said_}; nothing was installed" in message, message
    assert node_state(chain, "clean") == before  # the old prefix, lock and request
    assert cached(chain, "evil-tool") == []  # nothing of it is kept to be linked later
    assert not (tmp_path / "escape").exists() and not (chain.root / "escape").exists()
    assert not list(code(chain, "clean").glob(".conda.*"))


def test_a_link_leading_outside_is_refused_even_when_the_channel_offers_it_in_the_lock(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A lock solved from a channel that later serves a crafted package under the same name
    (the channel changed): the node's run is refused naming it, not run with the link."""
    channel = tmp_path / "channel"
    crafted_package(channel, "hello-tool", [("bin/hello-tool", "file", TOOL)])
    index_channel(channel)
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    shutil.rmtree(chain.context.layout.conda_cache_dir)  # another machine, or a cleaned cache
    shutil.rmtree(code(chain, "clean") / ".conda")
    crafted_package(channel, "hello-tool", [("bin/hello-tool", "symlink", "/bin/true")])
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 1
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    reason = " ".join(status["clean"].reasons)
    # the lock pinned the channel's first archive: the swapped one is refused by its sha256
    assert "hello-tool-1.0-0.tar.bz2" in reason and "is not the one conda.lock pins" in reason
    assert not (code(chain, "clean") / ".conda").exists()
    index_channel(channel)  # the channel now says what it serves
    before = node_state(chain, "clean")
    # what the hint says solves the new archive, which is refused for its link
    with pytest.raises(EnvironmentBuildError, match="its link 'bin/hello-tool' leads outside"):
        chain.conda.lock("clean")
    assert node_state(chain, "clean") == before


def test_a_truncated_package_says_it_could_not_be_unpacked_not_that_it_is_missing(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"),))
    archive = crafted_package(channel, "cut-tool", [("bin/cut-tool", "file", TOOL * 2000)])
    index_channel(channel)
    index = channel / "noarch" / "repodata.json"
    listed = index.read_text()
    data = archive.read_bytes()[: archive.stat().st_size // 2]
    archive.write_bytes(data)  # cut short, the index saying so (its sha256 and size)
    entry = json.loads(listed)["packages"]["cut-tool-1.0-0.tar.bz2"]
    real = listed.replace(entry["sha256"], hashlib.sha256(data).hexdigest())
    index.write_text(real.replace(f'"size":{entry["size"]}', f'"size":{len(data)}'))
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    before = node_state(chain, "clean")
    with pytest.raises(EnvironmentBuildError) as refused:
        chain.conda.add("clean", ["cut-tool"])
    message = str(refused.value)
    assert "conda package cut-tool-1.0-0.tar.bz2" in message
    assert "could not be unpacked (a broken or truncated archive)" in message
    assert "do not hold" not in message  # it was there, only broken
    assert node_state(chain, "clean") == before
    assert [n for n in cached(chain, "cut-tool") if not n.endswith(".lock")] == []


class EndlessIndex(BaseHTTPRequestHandler):
    """A channel whose ``repodata.json`` never ends (``endless``) or nests without end."""

    endless = True
    sent = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(404)
        self.end_headers()

    def do_GET(self) -> None:
        if not self.path.endswith("/repodata.json"):
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            if not type(self).endless:
                deep = b"[" * 100_000 + b"]" * 100_000
                self.wfile.write(b'{"packages": {"x-1-0.tar.bz2": {"depends": ' + deep + b"}}}")
                return
            self.wfile.write(b'{"info": {"subdir": "noarch"}, "packages": {}, "x": "')
            block = b"x" * (1 << 20)
            for _ in range(2048):  # 2 GB, never held anywhere
                self.wfile.write(block)
                type(self).sent += len(block)
        except OSError:
            return  # the client went away


@pytest.fixture
def endless_channel() -> Iterator[tuple[str, type[EndlessIndex]]]:
    handler = type("Handler", (EndlessIndex,), {"sent": 0, "endless": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/channel", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_channel_serving_a_2_gb_repodata_is_refused_past_the_cap_with_bounded_disk(
    chain: nodepipe.Workspace,
    endless_channel: tuple[str, type[EndlessIndex]],
    monkeypatch: pytest.MonkeyPatch,
    cli: CliRunner,
) -> None:
    url, handler = endless_channel
    monkeypatch.setenv("NODEPIPE_CONDA_MAX_REPODATA_MB", "16")
    before = node_state(chain, "clean")
    refused = cli("env", "conda", "add", "clean", "x", "--channel", url)
    assert refused.code == 2
    message = " ".join(refused.stderr.split())
    assert f"the conda channel {url} serves a repodata.json larger than 16 MB: refused" in message
    assert "set NODEPIPE_CONDA_MAX_REPODATA_MB for more" in message
    assert handler.sent < 400 << 20, "the download went on past the cap"
    repodata = chain.context.layout.conda_cache_dir.parent / "conda-repodata"
    assert max(p.stat().st_size for p in repodata.iterdir()) <= 16 << 20
    assert node_state(chain, "clean") == before


def test_a_channel_serving_a_deeply_nested_repodata_is_refused_naming_it(
    chain: nodepipe.Workspace, endless_channel: tuple[str, type[EndlessIndex]]
) -> None:
    url, handler = endless_channel
    handler.endless = False
    before = node_state(chain, "clean")
    with pytest.raises(EnvironmentBuildError) as refused:
        chain.conda.add("clean", ["x"], [url])
    assert f"the conda channel {url} serves a repodata.json that is not valid" in str(refused.value)
    assert node_state(chain, "clean") == before


def test_a_channel_naming_another_in_its_index_never_makes_nodepipe_read_that_one(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """CEP-42 ``channel_relations``: a channel's ``repodata.json`` may name ``../other``
    channels, which py-rattler follows by default. A channel carried in a bundle could so
    reach any folder of the machine past the checks of the node's channels: only the
    channels named are read."""
    named = conda_channel(tmp_path / "named", (("hello-tool", "1.0"),))
    conda_channel(tmp_path / "secret", (("other-tool", "0.1"),))
    for subdir in ("noarch", "linux-64", "linux-aarch64"):
        index = named / subdir / "repodata.json"
        data = json.loads(index.read_text()) if index.is_file() else {"packages": {}}
        data.setdefault("info", {})["channel_relations"] = {"base": "../../secret/channel"}
        index.parent.mkdir(exist_ok=True)
        index.write_text(json.dumps(data))
        for compressed in index.parent.glob("repodata.json.*"):
            compressed.unlink()
    before = node_state(chain, "clean")
    with pytest.raises(RequirementNotFoundError, match="no such conda package"):
        chain.conda.add("clean", ["other-tool"], [str(named)])
    assert node_state(chain, "clean") == before
    chain.conda.add("clean", ["hello-tool"], [str(named)])
    assert "secret" not in (code(chain, "clean") / "conda.lock").read_text()


def test_a_channel_placing_its_packages_in_another_folder_is_refused_naming_it(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """CEP-15 ``info.base_url``: an index may say its packages live elsewhere. A channel saying
    they live in a folder outside it (another user's, any path) is refused before the lock is
    written: nodepipe reads no folder nobody named."""
    named = conda_channel(tmp_path / "named", (("other-tool", "0.1"),))
    secret = conda_channel(tmp_path / "secret", (("other-tool", "0.1"),))
    index = named / "noarch" / "repodata.json"
    data = json.loads(index.read_text())
    data.setdefault("info", {})["base_url"] = (secret / "noarch").as_uri() + "/"
    index.write_text(json.dumps(data))
    for compressed in index.parent.glob("repodata.json.*"):
        compressed.unlink()
    before = node_state(chain, "clean")
    with pytest.raises(EnvironmentBuildError) as refused:
        chain.conda.add("clean", ["other-tool"], [str(named)])
    message = str(refused.value)
    assert f"places other-tool-0.1-0.conda at {secret.as_uri()}/noarch/" in message
    assert "outside the channel (its repodata.json's base_url): refused" in message
    assert node_state(chain, "clean") == before
    assert cached(chain, "other-tool") == []


class CompressedBomb(BaseHTTPRequestHandler):
    """A channel offering ``repodata.json.bz2``: a few hundred bytes that unpack to 40 MB."""

    body = b""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, send_body: bool) -> None:
        if not self.path.endswith("/repodata.json.bz2"):
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(self.body)

    def do_HEAD(self) -> None:
        self.reply(send_body=False)

    def do_GET(self) -> None:
        self.reply(send_body=True)


def test_a_compressed_repodata_unpacking_past_the_cap_is_refused_unpacked_no_further(
    chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    packer = bz2.BZ2Compressor(9)
    parts = [packer.compress(b'{"info": {"subdir": "noarch"}, "packages": {}, "x": "')]
    parts += [packer.compress(b"x" * (1 << 20)) for _ in range(40)]
    parts += [packer.compress(b'"}'), packer.flush()]
    handler = type("Handler", (CompressedBomb,), {"body": b"".join(parts)})
    assert len(handler.body) < 4096
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/channel"
    monkeypatch.setenv("NODEPIPE_CONDA_MAX_REPODATA_MB", "16")
    before = node_state(chain, "clean")
    try:
        with pytest.raises(EnvironmentBuildError, match=r"serves a repodata\.json larger than 16"):
            chain.conda.add("clean", ["x"], [url])
    finally:
        server.shutdown()
        server.server_close()
    repodata = chain.context.layout.conda_cache_dir.parent / "conda-repodata"
    assert max(p.stat().st_size for p in repodata.iterdir()) <= 16 << 20
    assert node_state(chain, "clean") == before
