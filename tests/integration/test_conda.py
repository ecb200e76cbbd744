"""Conda packages per node, fully offline: a local file:// channel of tiny noarch packages
(py-rattler-build), solved, locked and installed in-process with py-rattler (real prefixes,
real hard links, real node processes running the tools)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from integration.test_packages import replace_members
from nodepipe.domain.errors import (
    IndexUnreachableError,
    InvalidInputError,
    NotFoundError,
    RequirementNotFoundError,
)
from nodepipe.domain.states import NodeState
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.conda_project import portable_conda_paths
from support.conda_channel import conda_channel
from support.other_user import OtherUser

RUNS_TOOL = """\
import os, subprocess, nodepipe_node as node
tool = node.params().get("tool", "hello-tool")
said = subprocess.run([tool], capture_output=True, text=True, check=True).stdout.strip()
(node.data_dir() / "tool.txt").write_text(said)
(node.data_dir() / "prefix.txt").write_text(os.environ["CONDA_PREFIX"])
"""


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hello-tool 1.0 and 2.0, other-tool 0.1."""
    return conda_channel(tmp_path_factory.mktemp("conda"))


def code(ws: nodepipe.Workspace, tag: str) -> Path:
    return ws.nodes.path(tag) / "code"


def said(ws: nodepipe.Workspace, tag: str) -> str:
    return (ws.nodes.path(tag) / "data" / "tool.txt").read_text()


def inode(path: Path) -> int:
    return path.stat().st_ino


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def node_state(ws: nodepipe.Workspace, tag: str) -> dict[str, object]:
    """What a refused request must leave as it was: the node's files and its prefix."""
    folder = code(ws, tag)
    files = {
        name: (folder / name).read_bytes() if (folder / name).exists() else None
        for name in ("pyproject.toml", "uv.lock", "conda.lock")
    }
    prefix = folder / ".conda"
    tools = sorted(p.name for p in (prefix / "bin").iterdir()) if prefix.is_dir() else None
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.startswith((".conda.", ".")))
    return {**files, "tools": tools, "leftovers": leftovers}


def test_a_node_runs_a_tool_its_conda_package_provides(
    chain: nodepipe.Workspace, channel: Path, cli: CliRunner
) -> None:
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    added = cli("env", "conda", "add", "clean", "hello-tool 1.0.*", "--channel", str(channel))
    assert added.code == 0, added.stderr
    shown = cli("env", "conda", "show", "clean", "--json").json()
    assert shown["locked"] == {"hello-tool": "1.0"} and shown["installed"] is True
    assert shown["specs"] == ["hello-tool 1.0.*"] and shown["channels"] == [channel.as_uri()]
    assert "hello-tool" in cli("env", "conda", "show", "clean").stdout
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    assert said(chain, "clean") == "hello-tool 1.0"
    prefix = (chain.nodes.path("clean") / "data" / "prefix.txt").read_text()
    assert prefix == str(code(chain, "clean") / ".conda")
    lock = (code(chain, "clean") / "conda.lock").read_text()
    assert "hello-tool-1.0-0.conda" in lock and lock.startswith("version:")


def test_two_nodes_hold_two_versions_and_share_the_package_cache(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    for tag, spec in (("load", "hello-tool 1.0.*"), ("clean", "hello-tool 2.0.*")):
        (code(chain, tag) / "main.py").write_text(RUNS_TOOL)
        chain.conda.add(tag, [spec], [str(channel)])
    (code(chain, "plot") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("plot", ["hello-tool 1.0.*"], [str(channel)])
    result = chain.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 0
    assert [said(chain, t) for t in ("load", "clean", "plot")] == [
        "hello-tool 1.0",
        "hello-tool 2.0",
        "hello-tool 1.0",
    ]
    # the same package in two nodes is one file on disk: hard links from the workspace cache
    one, two = (code(chain, t) / ".conda" / "bin" / "hello-tool" for t in ("load", "plot"))
    assert inode(one) == inode(two)
    cached = next(chain.context.layout.conda_cache_dir.glob("hello-tool-1.0-0*/bin/hello-tool"))
    assert inode(cached) == inode(one)
    assert inode(code(chain, "clean") / ".conda" / "bin" / "hello-tool") != inode(one)


def test_a_tool_edited_in_one_prefix_is_put_back_everywhere_before_nodes_run(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    for tag in ("load", "clean"):
        (code(chain, tag) / "main.py").write_text(RUNS_TOOL)
        chain.conda.add(tag, ["hello-tool 1.0.*"], [str(channel)])
    edited = code(chain, "clean") / ".conda" / "bin" / "hello-tool"
    with edited.open("a") as tool:  # in place: through the hard link into the package cache
        tool.write("echo edited\n")
    assert not chain.conda.show("load").installed  # the shared file changed under load too
    (code(chain, "plot") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("plot", ["hello-tool 1.0.*"], [str(channel)])  # links from the cache
    result = chain.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 0
    assert [said(chain, t) for t in ("load", "clean", "plot")] == ["hello-tool 1.0"] * 3
    cached = next(chain.context.layout.conda_cache_dir.glob("hello-tool-1.0-0*/bin/hello-tool"))
    assert "edited" not in cached.read_text()
    assert all(chain.conda.show(t).installed for t in ("load", "clean", "plot"))


def test_a_lock_edited_to_name_a_package_its_channel_lacks_says_so_and_keeps_the_prefix(
    chain: nodepipe.Workspace, channel: Path, cli: CliRunner
) -> None:
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    lock = code(chain, "clean") / "conda.lock"
    lock.write_text(lock.read_text().replace("hello-tool-1.0-0.conda", "hello-tool-1.0-7.conda"))
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 1
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    reason = " ".join(status["clean"].reasons)
    assert "conda.lock names hello-tool-1.0-7.conda, which the lock's channels do not hold" in (
        reason
    )
    tool = code(chain, "clean") / ".conda" / "bin" / "hello-tool"
    assert subprocess.run([tool], capture_output=True, text=True).stdout == "hello-tool 1.0\n"
    assert cli("env", "conda", "lock", "clean").code == 0  # what the hint says heals it
    assert chain.conda.show("clean").locked == {"hello-tool": "1.0"}


def test_a_spec_edited_by_hand_that_the_lock_does_not_hold_stops_the_node_before_it_runs(
    chain: nodepipe.Workspace, channel: Path, cli: CliRunner
) -> None:
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    pyproject = code(chain, "clean") / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("hello-tool 1.0.*", "hello-tool 2.0.*"))
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 1
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert "conda.lock holds no package that 'hello-tool 2.0.*' (pyproject.toml) accepts " in (
        " ".join(status["clean"].reasons)
    )
    assert not (chain.nodes.path("clean") / "data" / "tool.txt").exists()
    assert cli("env", "conda", "lock", "clean").code == 0  # what the hint says
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    assert said(chain, "clean") == "hello-tool 2.0"


def test_a_conda_lock_change_makes_the_node_and_its_descendants_stale_with_the_reason(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    chain.runs.run(RunRequest("baseline"))
    chain.conda.add("clean", ["hello-tool 2.0.*"])
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert status["clean"].state is NodeState.STALE
    assert "conda lock changed: hello-tool 1.0 → 2.0" in status["clean"].reasons
    assert status["plot"].reasons == ("parent 01 (clean) is stale",)
    assert status["load"].state is NodeState.COMPLETED
    chain.runs.run(RunRequest("baseline"))
    assert said(chain, "clean") == "hello-tool 2.0"
    chain.conda.add("clean", ["other-tool"])
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert "conda lock added: other-tool 0.1" in status["clean"].reasons


def test_restoring_a_past_run_puts_its_conda_packages_back(
    chain: nodepipe.Workspace, channel: Path, cli: CliRunner
) -> None:
    folder = code(chain, "clean")
    (folder / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    first = chain.runs.run(RunRequest("baseline", to=["clean"])).run_id
    chain.conda.add("clean", ["other-tool"])
    chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert (folder / ".conda" / "bin" / "other-tool").is_file()
    assert first is not None
    past = chain.run_envs.show("clean", first)
    shown = cli("runs", "--run", first, "--node", "clean", "--json").json()
    assert shown["locks"]["conda"] == past.locks["conda"]
    restored = cli("env", "restore", "clean", "--run", first)
    assert restored.code == 0, restored.stderr
    assert not (folder / ".conda" / "bin" / "other-tool").exists()
    assert (folder / ".conda" / "bin" / "hello-tool").is_file()
    assert sha256(folder / "conda.lock") == past.locks["conda"]
    assert chain.conda.show("clean").specs == ("hello-tool 1.0.*",)


def test_runs_node_tells_which_conda_packages_a_past_run_used_without_a_restore(
    chain: nodepipe.Workspace, channel: Path, cli: CliRunner
) -> None:
    folder = code(chain, "clean")
    (folder / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    then = (folder / "conda.lock").read_bytes()
    first = chain.runs.run(RunRequest("baseline", to=["clean"])).run_id
    assert first is not None
    chain.conda.add("clean", ["hello-tool 2.0.*"])  # the node moves on to 2.0
    data = cli("runs", "--run", first, "--node", "clean", "--json").json()
    assert data["conda_packages"] == [
        {"name": "hello-tool", "version": "1.0", "build": "0", "channel": channel.as_uri()}
    ]
    assert data["locks"]["conda"] == hashlib.sha256(then).hexdigest()
    shown = cli("runs", "--run", first, "--node", "clean")
    assert shown.code == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if "hello-tool" in line]
    assert len(rows) == 1 and "1.0" in rows[0] and "conda" in rows[0] and "2.0" not in rows[0]
    printed = cli("runs", "--run", first, "--node", "clean", "--lock", "conda")
    assert printed.code == 0 and printed.stdout.encode() == then
    assert "hello-tool-2.0" in (folder / "conda.lock").read_text()  # nothing was restored


def test_a_node_without_conda_packages_records_no_conda_lock(chain: nodepipe.Workspace) -> None:
    run = chain.runs.run(RunRequest("baseline", to=["load"])).run_id
    assert run is not None
    assert set(chain.run_envs.show("load", run).locks) == {"uv"}
    assert not (code(chain, "load") / ".conda").exists()


def test_removing_the_last_conda_package_removes_lock_and_prefix(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    chain.conda.add("clean", ["hello-tool", "other-tool"], [str(channel)])
    view = chain.conda.remove("clean", ["hello-tool"])
    assert view.locked == {"other-tool": "0.1"}
    assert not (code(chain, "clean") / ".conda" / "bin" / "hello-tool").exists()
    chain.conda.remove("clean", ["other-tool"])
    assert not (code(chain, "clean") / "conda.lock").exists()
    assert not (code(chain, "clean") / ".conda").exists()
    with pytest.raises(NotFoundError, match="no conda package other-tool"):
        chain.conda.remove("clean", ["other-tool"])


def test_show_says_there_is_no_conda_part_once_the_last_package_is_gone(
    chain: nodepipe.Workspace, channel: Path, cli: CliRunner
) -> None:
    """A package asked for by its file's URL is named from that file (not ``file``), can be
    removed by that name, and with it gone ``show`` says there is no conda part rather than
    "installed" over an empty table."""
    package = next((channel / "noarch").glob("hello-tool-1.0-*.conda"))
    added = cli("env", "conda", "add", "clean", package.as_uri(), "--channel", str(channel))
    assert added.code == 0, added.stderr
    assert chain.conda.show("clean").locked == {"hello-tool": "1.0"}
    shown = cli("env", "conda", "show", "clean")
    rows = [line.split()[:3:2] for line in shown.stdout.splitlines()]
    assert ["hello-tool", "1.0"] in rows and "(dependency)" not in shown.stdout, shown.stdout
    removed = cli("env", "conda", "remove", "clean", "hello-tool")
    assert removed.code == 0, removed.stderr
    assert "no conda part" in removed.stdout and "installed" not in removed.stdout
    shown = cli("env", "conda", "show", "clean")
    assert "no conda part" in shown.stdout and "installed" not in shown.stdout
    assert cli("env", "conda", "show", "clean", "--json").json()["locked"] == {}


def test_lock_upgrade_takes_the_newest_the_specs_allow(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    pyproject = code(chain, "clean") / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("hello-tool 1.0.*", "hello-tool"))
    assert chain.conda.lock("clean").locked == {"hello-tool": "1.0"}  # the lock's pin is kept
    assert chain.conda.lock("clean", upgrade=True).locked == {"hello-tool": "2.0"}


def test_the_workspace_default_channel_is_used_when_a_node_names_none(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    config = chain.context.layout.config_file
    text = config.read_text()
    assert 'channels = ["conda-forge"]' in text
    config.write_text(text.replace('["conda-forge"]', json.dumps([str(channel)])))
    with nodepipe.open(chain.root) as ws:
        view = ws.conda.add("clean", ["hello-tool"])
    assert view.channels == (channel.as_uri(),) and view.locked == {"hello-tool": "2.0"}


def test_a_duplicate_gets_the_conda_prefix_from_the_lock_without_solving(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    original = code(chain, "clean")
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    aside = channel.with_name("channel.aside")
    channel.rename(aside)  # no channel at all: nothing is solved or downloaded
    try:
        copies = chain.node_copies.duplicate(["clean"], "baseline")
    finally:
        aside.rename(channel)
    copy = code(chain, copies[0].id)
    assert (copy / "conda.lock").read_bytes() == (original / "conda.lock").read_bytes()
    tool = copy / ".conda" / "bin" / "hello-tool"
    assert inode(tool) == inode(original / ".conda" / "bin" / "hello-tool")


@pytest.mark.parametrize(
    ("specs", "channels", "error", "message"),
    [
        (["no-such-tool"], None, RequirementNotFoundError, "no such conda package"),
        (["hello-tool 9.*"], None, RequirementNotFoundError, "hello-tool"),
        (["hello-tool >=="], None, InvalidInputError, "not a conda package spec"),
        (["hello-tool"], ["/nonexistent/channel"], RequirementNotFoundError, "no such conda"),
    ],
)
def test_a_refused_conda_request_changes_nothing(
    chain: nodepipe.Workspace,
    channel: Path,
    specs: list[str],
    channels: list[str] | None,
    error: type[Exception],
    message: str,
) -> None:
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    before = node_state(chain, "clean")
    with pytest.raises(error, match=message):
        chain.conda.add("clean", specs, channels)
    assert node_state(chain, "clean") == before
    assert list(chain.context.layout.staging_dir.iterdir()) == []


def test_a_channel_that_never_answers_fails_after_the_timeout_naming_it(
    chain: nodepipe.Workspace, channel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    before = node_state(chain, "clean")
    silent = socket.socket()  # accepts every connection and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    held: list[socket.socket] = []

    def hold() -> None:
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=hold, daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/hung"
    monkeypatch.setenv("NODEPIPE_CONDA_TIMEOUT", "1")
    outcome: list[BaseException | None] = []

    def add() -> None:
        try:
            chain.conda.add("clean", ["other-tool"], [url])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=add, daemon=True)
    worker.start()
    worker.join(90)
    silent.close()
    for connection in held:
        connection.close()
    assert outcome, "the request hung on a channel that never answers"
    error = outcome[0]
    assert isinstance(error, IndexUnreachableError), error
    assert url in str(error) and "did not answer within 1 s" in str(error)
    assert node_state(chain, "clean") == before


ENVIRONMENT_YML = """\
name: tools
channels:
  - {channel}
dependencies:
  - python=3.11
  - pip
  - hello-tool=1.0
  - pip:
      - toypkg==1.0
      - --index-url https://example.invalid/simple
"""


def test_env_import_places_an_environment_file(
    chain: nodepipe.Workspace, channel: Path, offline_index: Path, cli: CliRunner, tmp_path: Path
) -> None:
    file = tmp_path / "environment.yml"
    file.write_text(ENVIRONMENT_YML.format(channel=channel))
    imported = cli("env", "import", "clean", str(file))
    assert imported.code == 0, imported.stderr
    assert "not placed: python=3.11" in imported.stdout and "--index-url" in imported.stdout
    assert chain.conda.show("clean").locked == {"hello-tool": "1.0"}
    assert chain.envs.show("clean").locked["toypkg"] == "1.0"
    as_json = cli("env", "import", "clean", str(file), "--json").json()
    assert any(entry.startswith("pip (") for entry in as_json["unplaced"])


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("dependencies: [hello-tool\n", "malformed YAML"),
        ("- just a list\n", "a mapping with dependencies"),
        ("dependencies: hello-tool\n", "dependencies must be a list"),
        ("dependencies:\n  - pip: [1, 2]\n", "every entry of pip must be text"),
        ("dependencies:\n  - pip: hello-tool\n", "pip must be a list"),
        ("channels: {a: b}\n", "channels must be a list"),
        (bytes(range(256)) * 4, "not an environment file: not UTF-8 text"),
        (b"dependencies: []\n" + b"#" * 1_100_000, "larger than 1,048,576 bytes"),
        ("dependencies: " + "[" * 150 + "]" * 150 + "\n", "nested more than 100 levels"),
        ("dependencies:\n  - {a: {b: [1, {c: " + "x" * 500 + "}]}}\n", "nothing in it can be"),
        ("name: e\nprefix: /opt/e\nvariables: {A: 1}\n", "prefix (nodepipe keeps no such"),
    ],
    ids=[
        "unclosed",
        "a-list",
        "deps-not-a-list",
        "pip-not-text",
        "pip-not-a-list",
        "channels-not-a-list",
        "binary",
        "huge",
        "deep",
        "nested-junk",
        "unknown-keys-only",
    ],
)
def test_a_malformed_environment_file_changes_nothing(
    chain: nodepipe.Workspace, channel: Path, tmp_path: Path, text: str | bytes, said: str
) -> None:
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    before = node_state(chain, "clean")
    file = tmp_path / "environment.yml"
    file.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InvalidInputError, match=str(file)) as refused:
        chain.conda.import_file("clean", file)
    assert said in str(refused.value) and len(str(refused.value)) < 600
    assert node_state(chain, "clean") == before


def test_unknown_keys_beside_what_can_be_placed_are_named(
    chain: nodepipe.Workspace, channel: Path, tmp_path: Path, cli: CliRunner
) -> None:
    file = tmp_path / "environment.yml"
    file.write_text(
        f"name: e\nchannels: [{channel}]\nprefix: /opt/e\ndependencies:\n"
        "  - hello-tool 1.0.*\n  - {junk: [1, 2]}\n"
    )
    imported = cli("env", "import", "clean", str(file), "--json")
    assert imported.code == 0, imported.stderr
    data = imported.json()
    assert data["locked"] == {"hello-tool": "1.0"}
    assert data["unplaced"] == [
        "prefix (nodepipe keeps no such part for a node)",
        "{'junk': [1, 2]} (neither a package nor a pip: list)",
    ]


def test_without_the_conda_extra_a_conda_request_says_how_to_install_it(
    chain: nodepipe.Workspace, channel: Path, tmp_path: Path
) -> None:
    """py-rattler hidden from a real ``nodepipe`` process by a sitecustomize that refuses it."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'rattler' or name.startswith('rattler.'):\n"
        "            raise ImportError('hidden by the test')\n"
        "sys.meta_path.insert(0, _Refuse())\n"
    )
    before = node_state(chain, "clean")
    env = {**os.environ, "PYTHONPATH": str(blocker), "NODEPIPE_WORKSPACE": str(chain.root)}
    completed = subprocess.run(
        [sys.executable, "-m", "nodepipe.cli.app", "env", "conda", "add", "clean", "hello-tool"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode != 0
    assert "install it with `pip install 'nodepipe[conda]'`" in completed.stderr.replace("\n", " ")
    assert node_state(chain, "clean") == before
    # a node without conda packages still runs where the extra is missing
    ran = subprocess.run(
        [sys.executable, "-m", "nodepipe.cli.app", "run", "baseline", "--to", "load"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr


def test_export_refuses_a_node_whose_conda_channel_is_a_local_folder(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A bundle carries no conda channel and an import reads no folder of its machine: the
    export says so (node, channel, the fix) before writing anything."""
    channel = conda_channel(tmp_path)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    refused = cli("bundle", "export", "baseline", str(tmp_path / "bundle"))
    assert refused.code == 2, refused.stderr
    assert "node 'clean' installs conda packages from a local channel" in refused.stderr
    assert channel.as_uri() in refused.stderr and "--channel URL" in refused.stderr
    assert not (tmp_path / "bundle").exists()
    built = cli("package", "build", "baseline", "--destination", str(tmp_path / "dist"))
    assert built.code == 2 and "node 'clean'" in built.stderr
    assert not any((tmp_path / "dist").glob("*.whl"))


def test_a_spec_naming_no_package_file_is_bad_input(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """``NAME[url=file:///etc]`` is a mistake in the spec, said at once (exit 2, naming the
    path), not a channel that could not be read (exit 7 before); nothing changes."""
    pyproject = code(chain, "clean") / "pyproject.toml"
    before = pyproject.read_text()
    (tmp_path / "x.conda").mkdir()
    for place in ("file:///etc", str(tmp_path / "none.conda"), (tmp_path / "x.conda").as_uri()):
        refused = cli("env", "conda", "add", "clean", f"hello-tool[url={place}]")
        assert refused.code == 2, refused.stderr
        assert "which is no conda package file" in refused.stderr
    assert pyproject.read_text() == before


def test_a_spec_naming_a_local_package_file_never_travels_in_a_bundle(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, other: OtherUser
) -> None:
    """``NAME[url=file:///...]`` reads that file at every solve, like a local channel (audit2
    F22): the export refuses it naming the spec, and an import of a bundle whose node asks
    for another user's package file refuses it before anything is made."""
    bundle = tmp_path / "bundle"
    chain.bundles.export("baseline", bundle)
    package = next((conda_channel(tmp_path) / "noarch").glob("hello-tool-*.conda"))
    spec = f"hello-tool[url={package.as_uri()}]"
    added = cli("env", "conda", "add", "clean", spec, "--channel", str(package.parent.parent))
    assert added.code == 0, added.stderr  # the CLI's user trusts their own file
    pyproject = code(chain, "clean") / "pyproject.toml"  # solved: the channel is not needed
    pyproject.write_text(re.sub(r"channels = \[[^]]*\]", "channels = []", pyproject.read_text()))
    refused = cli("bundle", "export", "baseline", str(tmp_path / "again"))
    assert refused.code == 2 and spec in refused.stderr, refused.stderr
    assert not (tmp_path / "again").exists()
    theirs = other.folder("nodepipe-channel-")
    try:
        shutil.copytree(package.parent.parent, theirs / "channel")
        other.give(theirs)
        their_spec = spec.replace(str(tmp_path), str(theirs))
        with (bundle / "nodes" / "clean" / "code" / "pyproject.toml").open("a") as file:
            file.write(f'\n[tool.nodepipe.conda]\ndependencies = ["{their_spec}"]\n')
        pipelines = [p.id for p in chain.pipelines.list()]
        folders = sorted((chain.root / "nodes").iterdir())
        imported = cli("bundle", "import", str(bundle), "--name", "evil")
        assert imported.code == 2, imported.stderr
        assert "outside the bundle" in imported.stderr and their_spec in imported.stderr
        assert [p.id for p in chain.pipelines.list()] == pipelines
        assert sorted((chain.root / "nodes").iterdir()) == folders
    finally:
        shutil.rmtree(theirs)


def crafted_bundle(chain: nodepipe.Workspace, folder: Path, channel: Path) -> Path:
    """A bundle of baseline whose node clean locks hello-tool from ``channel``, its paths
    written relative to the bundle the way an export writes them (``file-relative:``)."""
    bundle = folder / "bundle"
    chain.bundles.export("baseline", bundle)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    target = bundle / "nodes" / "clean" / "code"
    for name in ("pyproject.toml", "conda.lock"):
        shutil.copyfile(code(chain, "clean") / name, target / name)
    portable_conda_paths(target, bundle)
    return bundle


def test_an_import_installs_conda_packages_only_from_the_bundle_or_a_remote_channel(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, other: OtherUser
) -> None:
    """A bundle naming a channel outside itself (``file-relative:../``, ``file:///``) would
    make nodepipe install what another user put there: check, import and include refuse it,
    naming node and channel, before any prefix is built; a channel inside the bundle works."""
    theirs = other.folder("nodepipe-channel-")
    try:
        channel = conda_channel(theirs)
        other.give(theirs)
        bundle = crafted_bundle(chain, tmp_path, channel)
        lock = (bundle / "nodes" / "clean" / "code" / "conda.lock").read_text()
        assert "file-relative:../" in lock
        pipelines = [p.id for p in chain.pipelines.list()]
        folders = sorted((chain.root / "nodes").iterdir())
        checked = cli("bundle", "check", str(bundle))
        assert checked.code != 0 and "clean: its conda packages" in checked.stdout + checked.stderr
        refused = cli("bundle", "import", str(bundle), "--name", "evil")
        assert refused.code == 2, refused.stderr
        assert "clean: its conda packages would be installed from outside the bundle" in (
            refused.stderr
        )
        assert "file-relative:../" in refused.stderr
        absolute = bundle / "nodes" / "clean" / "code" / "conda.lock"
        absolute.write_text(lock.replace("file-relative:../", f"file://{tmp_path}/../"))
        with pytest.raises(InvalidInputError, match="outside the bundle"):
            chain.bundles.import_(bundle, name="evil")
        with pytest.raises(InvalidInputError, match="outside the bundle"):
            chain.bundles.include("baseline", str(bundle), "evil")
        assert [p.id for p in chain.pipelines.list()] == pipelines
        assert sorted((chain.root / "nodes").iterdir()) == folders  # nothing half-made
    finally:
        shutil.rmtree(theirs)
    # the same packages carried inside the bundle are used
    inside = conda_channel(bundle)
    for name in ("pyproject.toml", "conda.lock"):
        file = bundle / "nodes" / "clean" / "code" / name
        file.write_text(
            (code(chain, "clean") / name).read_text().replace(str(channel), str(inside))
        )
    portable_conda_paths(bundle / "nodes" / "clean" / "code", bundle)
    (bundle / "nodes" / "clean" / "code" / "main.py").write_text(RUNS_TOOL)
    imported = chain.bundles.import_(bundle, name="carried")
    node = next(i.node for i in imported.view.nodes if i.node.tag == "clean")
    assert (chain.nodes.path(node.id) / "code" / ".conda" / "bin" / "hello-tool").is_file()
    result = chain.runs.run(RunRequest("carried", to=[node.id]))
    assert result.finished is not None and result.finished.failed == 0
    assert (chain.nodes.path(node.id) / "data" / "tool.txt").read_text() == "hello-tool 1.0"


def test_a_node_seeded_from_a_template_gets_its_conda_packages(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    chain.conda.add("clean", ["other-tool"], [str(channel)])
    seeded = chain.nodes.new("baseline", "seeded", template="clean")
    assert chain.conda.show(seeded.id).locked == {"other-tool": "0.1"}
    assert (code(chain, "seeded") / ".conda" / "bin" / "other-tool").is_file()


def test_a_code_first_node_declares_its_conda_packages(
    lab: nodepipe.Workspace, channel: Path
) -> None:
    config = lab.context.layout.config_file
    config.write_text(config.read_text().replace('["conda-forge"]', json.dumps([str(channel)])))
    with nodepipe.open(lab.root) as ws:
        pipe = nodepipe.define("tools")

        @pipe.node(conda={"hello-tool": "2.0"})
        def greet() -> None:
            import subprocess

            import nodepipe_node as node

            said = subprocess.run(["hello-tool"], capture_output=True, text=True).stdout
            (node.data_dir() / "tool.txt").write_text(said.strip())

        ws.materialize(pipe)
        lock = code(ws, "greet") / "conda.lock"
        before = lock.stat().st_mtime_ns
        ws.materialize(pipe)  # nothing changed: nothing solved again
        assert lock.stat().st_mtime_ns == before
        result = ws.runs.run(RunRequest("tools"))
        assert result.finished is not None and result.finished.failed == 0
        assert (ws.nodes.path("greet") / "data" / "tool.txt").read_text() == "hello-tool 2.0"
        assert ws.conda.show("greet").specs == ("hello-tool 2.0",)


def test_node_restore_gives_the_new_node_that_runs_conda_packages(
    chain: nodepipe.Workspace, channel: Path
) -> None:
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    first = chain.runs.run(RunRequest("baseline", to=["clean"])).run_id
    assert first is not None
    chain.conda.add("clean", ["hello-tool 2.0.*"])
    chain.nodes.restore("clean", first, "clean-then")
    assert chain.conda.show("clean-then").locked == {"hello-tool": "1.0"}
    assert chain.conda.show("clean").locked == {"hello-tool": "2.0"}
    result = chain.runs.run(RunRequest("baseline", to=["clean-then"]))
    assert result.finished is not None and result.finished.failed == 0
    assert said(chain, "clean-then") == "hello-tool 1.0"


def test_outputs_shared_through_a_storage_are_not_pulled_across_conda_locks(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A conda lock that moved (pyproject unchanged) makes the node run again, not pull the
    outputs the old lock made from the storage's run records."""
    import shutil

    storage = str(tmp_path / "bucket")
    channel = conda_channel(tmp_path / "c", (("hello-tool", "1.0"),))
    (code(chain, "clean") / "main.py").write_text(RUNS_TOOL)
    chain.conda.add("clean", ["hello-tool"], [str(channel)])
    chain.runs.run(RunRequest("baseline", storage=storage))
    assert said(chain, "clean") == "hello-tool 1.0"
    project = (code(chain, "clean") / "pyproject.toml").read_text()
    shutil.rmtree(tmp_path / "c")  # the channel gains 2.0 at the same place
    conda_channel(tmp_path / "c", (("hello-tool", "1.0"), ("hello-tool", "2.0")))
    chain.conda.lock("clean", upgrade=True)
    assert (code(chain, "clean") / "pyproject.toml").read_text() == project
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert "conda lock changed: hello-tool 1.0 → 2.0" in status["clean"].reasons

    chain.runs.run(RunRequest("baseline", storage=storage))

    assert said(chain, "clean") == "hello-tool 2.0", "the 1.0 outputs were pulled"
    log = (chain.nodes.path("clean") / "logs" / "latest.log").read_text()
    assert "pulled from" not in log


def test_a_package_pull_never_installs_conda_packages_from_a_folder_of_this_machine(
    chain: nodepipe.Workspace, tmp_path: Path, other: OtherUser
) -> None:
    """The audit's repro: a wheel whose node's conda channel and lock name another user's
    folder (``file:///…``). The pull refuses it, naming node and channel, before any prefix
    is built; the workspace pulled into is unchanged. (nodepipe's own build refuses such a
    node, so the wheel's node files are swapped by hand.)"""
    built = chain.packages.build("baseline", alias="carrier", destination=tmp_path / "dist")
    theirs = other.folder("nodepipe-channel-")
    try:
        channel = conda_channel(theirs)
        other.give(theirs)
        chain.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
        inside = "carrier/bundle/nodes/clean/code/"
        names = ("pyproject.toml", "conda.lock")
        swapped = {inside + n: (code(chain, "clean") / n).read_bytes() for n in names}
        replace_members(built.wheel, swapped)
        target = nodepipe.init(tmp_path / "target")
        try:
            before = snapshot(target)
            with pytest.raises(InvalidInputError, match="outside the bundle") as refused:
                target.packages.pull(str(built.wheel))
            assert "clean: its conda packages" in str(refused.value)
            assert channel.as_uri() in str(refused.value)
            assert snapshot(target) == before
            assert not any(target.context.layout.staging_dir.iterdir())
        finally:
            target.close()
    finally:
        shutil.rmtree(theirs)
