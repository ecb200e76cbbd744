"""What a conda package may do to the disk and to the prefixes it lands in: archives that unpack
to far more than they weigh (a bomb, millions of files) are refused before anything of them is
written; prefixes installed before nodepipe checked packages' links are checked once before they
are used; a prefix replaced by a link, or a lock edited to read a pipe, is never trusted."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from integration.test_conda import RUNS_TOOL, code, node_state
from integration.test_conda_hostile import TOOL, cached
from nodepipe.envs.conda import (
    INSTALL_MARKER,
    INSTALLED_FILES,
    file_stamp,
    lock_identity,
    request_identity,
)
from nodepipe.services.runs.service import RunRequest
from support.conda_channel import Member, conda_channel, crafted_package, index_channel

BOMB: list[Member] = [("bin/ok", "file", TOOL), ("share/zeros", "file", bytes(64 << 20))]
"""64 MB of zeros: a few hundred bytes once compressed."""
MANY: list[Member] = [("bin/ok", "file", TOOL)] + [(f"share/{i}", "file", b"") for i in range(3000)]
"""3,001 empty files."""


def unpacking_left(ws: nodepipe.Workspace) -> list[str]:
    """What an install's unpacking left in the package cache besides packages."""
    cache = ws.context.layout.conda_cache_dir
    return sorted(p.name for p in cache.glob(".nodepipe-unpacking-*")) if cache.is_dir() else []


@pytest.mark.parametrize(
    ("members", "setting", "said_"),
    [
        (BOMB, ("NODEPIPE_CONDA_MAX_PACKAGE_MB", "16"), "it unpacks to more than 16 MB"),
        (MANY, ("NODEPIPE_CONDA_MAX_PACKAGE_FILES", "1000"), "it unpacks to more than 1000 files"),
    ],
    ids=["bomb", "many-files"],
)
def test_a_package_unpacking_past_the_cap_is_refused_before_it_is_unpacked(
    chain: nodepipe.Workspace,
    tmp_path: Path,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    members: list[Member],
    setting: tuple[str, str],
    said_: str,
) -> None:
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"),))
    archive = crafted_package(channel, "bomb-tool", members)
    index_channel(channel)
    assert archive.stat().st_size < 64 << 10
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    before = node_state(chain, "clean")
    monkeypatch.setenv(*setting)
    refused = cli("env", "conda", "add", "clean", "bomb-tool")
    assert refused.code == 2, refused.stderr
    message = " ".join(refused.stderr.split())
    assert f"conda package bomb-tool-1.0-0.tar.bz2 ({archive.as_uri()}) is refused" in message
    assert f"{said_} (set {setting[0]} for more); nothing was installed" in message
    assert "nodepipe env conda add NODE SPEC --channel URL" in message  # the hint, as a command
    assert node_state(chain, "clean") == before
    assert cached(chain, "bomb-tool") == [] and unpacking_left(chain) == []
    monkeypatch.delenv(setting[0])
    chain.conda.add("clean", ["bomb-tool"])  # under the default caps it is a package like any
    assert cached(chain, "bomb-tool") != [] and unpacking_left(chain) == []


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A loopback server of ``tmp_path/web``: its URL, and the paths asked for."""
    asked: list[str] = []
    folder = tmp_path / "web"
    folder.mkdir()

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            asked.append(self.path)

        def send_head(self) -> object:
            del self.headers["If-Modified-Since"]  # a plain static server: always the file
            return super().send_head()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_remote_package_is_downloaded_once_and_a_remote_bomb_refused(
    chain: nodepipe.Workspace,
    tmp_path: Path,
    served: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, asked = served
    channel = conda_channel(tmp_path / "web", (("hello-tool", "1.0"),))
    crafted_package(channel, "bomb-tool", BOMB)
    index_channel(channel)
    remote = f"{url}/channel"
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool"], [remote])
    assert [p for p in asked if p.endswith(".conda")] == ["/channel/noarch/hello-tool-1.0-0.conda"]
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    monkeypatch.setenv("NODEPIPE_CONDA_MAX_PACKAGE_MB", "16")
    before = node_state(chain, "clean")
    with pytest.raises(nodepipe.RefusedPackageError, match="it unpacks to more than 16 MB"):
        chain.conda.add("clean", ["bomb-tool"])
    assert node_state(chain, "clean") == before
    assert cached(chain, "bomb-tool") == [] and unpacking_left(chain) == []


def old_marker(folder: Path) -> None:
    """Mark ``folder``'s prefix as nodepipe did before it checked packages' links (three
    lines, no version of the checks), as it is now."""
    prefix = folder / ".conda"
    files = (prefix / INSTALLED_FILES).read_text().splitlines()
    lines = [lock_identity(folder), file_stamp(prefix, files), request_identity(folder)]
    (prefix / INSTALL_MARKER).write_text("".join(f"{line}\n" for line in lines))


def test_a_prefix_installed_before_the_link_checks_is_checked_once_before_it_runs(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A prefix from before the checks whose package put a link outside it stayed trusted
    until its lock changed: it is checked before the node runs, refused naming the package,
    and removed. A clean one is checked once and kept as it is."""
    channel = tmp_path / "channel"
    members: list[Member] = [
        ("bin/hello-tool", "file", TOOL),
        ("bin/tool", "symlink", "hello-tool"),
    ]
    crafted_package(channel, "linky-tool", members)
    index_channel(channel)
    folder = code(chain, "clean")
    (folder / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["linky-tool"], [str(channel)])
    prefix = folder / ".conda"
    kept = (prefix / "bin" / "hello-tool").stat().st_ino
    old_marker(folder)  # a clean prefix of before: checked, then trusted as it is
    assert not chain.context.environments.conda.is_current(folder)
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    assert (prefix / "bin" / "hello-tool").stat().st_ino == kept  # not installed again
    assert chain.context.environments.conda.is_current(folder)
    # as a package of before could leave it: its own link leading to /etc/passwd
    (prefix / "bin" / "tool").unlink()
    (prefix / "bin" / "tool").symlink_to("/etc/passwd")
    old_marker(folder)
    ran = chain.runs.run(RunRequest("baseline", to=["clean"], force=True))
    assert ran.finished is not None and ran.finished.failed == 1
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    reason = " ".join(status["clean"].reasons)
    assert "conda package linky-tool-1.0-0.tar.bz2" in reason, reason
    assert "is refused: its link 'bin/tool' leads outside the prefix (to '/etc/passwd')" in reason
    assert "installed before nodepipe refused such packages, and is removed" in reason
    assert not prefix.exists() and Path("/etc/passwd").is_file()
    assert cached(chain, "linky-tool") == []  # read from its channel again when next needed


def test_a_prefix_replaced_by_a_link_is_never_trusted_and_what_it_leads_to_is_left_alone(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"),))
    folder = code(chain, "clean")
    (folder / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(folder / ".conda", elsewhere, symlinks=True)  # the same, stamps and all
    shutil.rmtree(folder / ".conda")
    (folder / ".conda").symlink_to(elsewhere)
    assert not chain.context.environments.conda.is_current(folder)
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    prefix = chain.nodes.path("clean") / "data" / "prefix.txt"
    assert prefix.read_text() == str(folder / ".conda")
    assert (folder / ".conda").is_dir() and not (folder / ".conda").is_symlink()
    assert (elsewhere / "bin" / "hello-tool").is_file()  # only the link went
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".conda.")]
    # a link leading nowhere is replaced the same way (it failed in a rename before)
    shutil.rmtree(folder / ".conda")
    (folder / ".conda").symlink_to(tmp_path / "nowhere")
    forced = chain.runs.run(RunRequest("baseline", to=["clean"], force=True))
    assert forced.finished is not None and forced.finished.failed == 0
    assert (folder / ".conda" / "bin" / "hello-tool").is_file()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".conda.")]


def test_a_lock_edited_to_read_a_pipe_is_refused_at_once(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A package location in conda.lock is read to check its sha256: one naming a pipe or a
    device (``/dev/zero``) would be read for ever; it is refused naming it."""
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"),))
    folder = code(chain, "clean")
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    archive = channel / "noarch" / "hello-tool-1.0-0.conda"
    pipe = tmp_path / "pipe" / archive.name
    pipe.parent.mkdir()
    os.mkfifo(pipe)  # opened for reading, it waits for a writer for ever
    lock = folder / "conda.lock"
    lock.write_text(lock.read_text().replace(str(archive), str(pipe)))
    shutil.rmtree(folder / ".conda")
    shutil.rmtree(chain.context.layout.conda_cache_dir)
    done: list[BaseException | None] = []

    def install() -> None:
        try:
            chain.context.environments.conda.install(folder)
        except BaseException as error:  # handed to the test's thread
            done.append(error)
        else:
            done.append(None)

    worker = threading.Thread(target=install, daemon=True)
    worker.start()
    worker.join(60)
    assert done, "the install still waits on the pipe"
    assert isinstance(done[0], nodepipe.RefusedPackageError), done[0]
    assert f"{pipe.as_uri()} is not a file" in str(done[0])
    assert not (folder / ".conda").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".conda.")]


def test_a_package_file_a_spec_names_is_pinned_and_refused_once_it_changed(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """``NAME[url=file:///…]`` is solved without an index, so without a sha256: the lock
    pinned nothing, and whatever the file became was installed. The lock now pins the file
    as solved; a file changed after it is refused like a channel's."""
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"), ("hello-tool", "2.0")))
    package = channel / "noarch" / "hello-tool-1.0-0.conda"
    mine = tmp_path / "mine" / package.name
    mine.parent.mkdir()
    shutil.copyfile(package, mine)
    folder = code(chain, "clean")
    chain.conda.add("clean", [f"hello-tool[url={mine.as_uri()}]"], [str(channel)])
    assert "sha256:" in (folder / "conda.lock").read_text()
    shutil.copyfile(channel / "noarch" / "hello-tool-2.0-0.conda", mine)  # replaced since
    shutil.rmtree(folder / ".conda")
    shutil.rmtree(chain.context.layout.conda_cache_dir)
    with pytest.raises(nodepipe.RefusedPackageError, match=r"is not the one conda\.lock pins"):
        chain.context.environments.conda.install(folder)
    assert not (folder / ".conda").exists()


def test_a_remote_package_file_a_spec_names_is_pinned_and_refused_once_it_changed(
    chain: nodepipe.Workspace, tmp_path: Path, served: tuple[str, list[str]], cli: CliRunner
) -> None:
    """``NAME[url=https://…/pkg.conda]`` is solved without an index, so without a sha256: the
    lock pinned the URL alone, and whatever the server answered there later was installed.
    The lock now pins the sha256 of the file as first solved; a file changed at the same URL
    is refused on the next install (exit 2), naming the URL and both digests, until a relock
    pins the file served then."""
    url, _ = served
    channel = conda_channel(tmp_path, (("hello-tool", "1.0"), ("hello-tool", "2.0")))
    served_file = tmp_path / "web" / "hello-tool-1.0-0.conda"
    shutil.copyfile(channel / "noarch" / served_file.name, served_file)
    package_url = f"{url}/{served_file.name}"
    folder = code(chain, "clean")
    (folder / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", [f"hello-tool[url={package_url}]"], [str(channel)])
    pinned = hashlib.sha256(served_file.read_bytes()).hexdigest()
    assert f"sha256: {pinned}" in (folder / "conda.lock").read_text()
    shutil.copyfile(channel / "noarch" / "hello-tool-2.0-0.conda", served_file)  # changed there
    found = hashlib.sha256(served_file.read_bytes()).hexdigest()
    shutil.rmtree(folder / ".conda")  # a new machine, a lost prefix: installed again
    shutil.rmtree(chain.context.layout.conda_cache_dir)
    refused = cli("env", "sync", "clean")
    assert refused.code == 2, refused.stderr
    said = " ".join(refused.stderr.split())
    assert package_url in said and pinned in said and found in said
    assert not (folder / ".conda").exists()
    again = cli("env", "sync", "clean", "--json")  # the same refusal for scripts
    assert again.code == 2
    assert not (folder / ".conda").exists()
    relocked = cli("env", "conda", "lock", "clean")  # the way out the refusal names
    assert relocked.code == 0, relocked.stderr
    assert f"sha256: {found}" in (folder / "conda.lock").read_text()  # the file served now
    assert (folder / ".conda" / "bin" / "hello-tool").is_file()
