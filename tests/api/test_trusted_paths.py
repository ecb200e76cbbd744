"""Every route that takes a local path refuses one another OS user owns, before any job starts.

(``env add`` with path/snapshot/shared is covered against a real server in
``test_other_user.py``; here are the other routes.)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import LOOPBACK, authorized, error_of
from nodepipe.api import create_app
from support.conda_channel import conda_channel
from support.other_user import OtherUser
from support.waiting import wait_for

ENV = "/api/pipelines/baseline/nodes/clean/environment"


@pytest.fixture
def theirs(other: OtherUser) -> Iterator[tuple[OtherUser, Path]]:
    """(another OS user, a project folder of theirs holding an executable ``python``)."""
    folder = other.folder("nodepipe-theirs-")
    (folder / "pyproject.toml").write_text("[project]\nname = 'theirs'\nversion = '1'\n")
    (folder / "python").write_text("#!/bin/sh\ntouch /tmp/ran\n")
    (folder / "python").chmod(0o755)
    other.give(folder)
    yield other, folder
    shutil.rmtree(folder)


def refused(response: object, other: OtherUser) -> None:
    assert f"belongs to {other.name}" in error_of(response, 422, "invalid_input")


def test_package_routes_refuse_paths_of_other_users(
    client: TestClient, chain: nodepipe.Workspace, theirs: tuple[OtherUser, Path]
) -> None:
    other, folder = theirs
    pyproject = chain.nodes.path("clean") / "code" / "pyproject.toml"
    before = pyproject.read_text()
    local = [f"theirs @ file://{folder}"]
    refused(client.post(f"{ENV}/packages", json={"requirements": local}), other)
    refused(client.put(f"{ENV}/python", json={"version": str(folder / "python")}), other)
    base = "/api/pipelines/baseline/base-packages"
    refused(client.post(base, json={"packages": local}), other)
    error_of(client.post(base, json={"packages": [str(folder)]}), 422)  # a bare path: never
    refused(client.post("/api/shared-envs", json={"name": "tools", "packages": local}), other)
    refused(client.post("/api/shared-envs/tools/packages", json={"packages": local}), other)
    assert pyproject.read_text() == before and chain.shared_envs.list() == []
    error_of(client.post(f"{ENV}/packages", json={"requirements": ["./theirs"]}), 422)


def test_a_snapshot_is_not_refreshed_from_a_folder_that_changed_hands(
    client: TestClient, chain: nodepipe.Workspace, theirs: tuple[OtherUser, Path]
) -> None:
    other, folder = theirs
    code = chain.nodes.path("clean") / "code"
    (code / "snapshots" / "tool").mkdir(parents=True)
    (code / "snapshots" / "tool" / "kept.py").write_text("x = 1\n")
    with (code / "pyproject.toml").open("a") as pyproject:
        pyproject.write(f'\n[tool.nodepipe.snapshots]\ntool = "{folder}"\n')
    refused(client.post(f"{ENV}/snapshots/tool/refresh"), other)
    assert (code / "snapshots" / "tool" / "kept.py").read_text() == "x = 1\n"


CONDA = f"{ENV}/conda"


def test_conda_channels_are_checked_as_the_solver_takes_them(
    chain: nodepipe.Workspace, theirs: tuple[OtherUser, Path]
) -> None:
    """A channel of another user is refused wherever it comes from: named in the request as a
    path, as the node's own channel, or as the workspace's default channel; before, only a
    request naming it with ``/`` or ``://`` was checked."""
    other, folder = theirs
    config = chain.root / "nodepipe.toml"
    config.write_text(config.read_text().replace('["conda-forge"]', f'["{folder}"]'))
    workspace = nodepipe.open(chain.root)
    try:
        with authorized(create_app(workspace, LOOPBACK)) as client:
            pyproject = chain.nodes.path("clean") / "code" / "pyproject.toml"
            before = pyproject.read_text()
            add = {"specs": ["hello-tool"], "channels": []}
            refused(client.post(f"{CONDA}/packages", json=add), other)  # the default channel
            sent = {"file_name": "environment.yml", "text": "dependencies:\n  - hello-tool\n"}
            refused(client.post(f"{ENV}/import", json=sent), other)
            refused(client.post(f"{CONDA}/lock", json={"upgrade": False}), other)
            given = {"specs": ["hello-tool"], "channels": [folder.as_uri()]}
            refused(client.post(f"{CONDA}/packages", json=given), other)
            assert pyproject.read_text() == before
            with pyproject.open("a") as file:  # the node's own channel
                file.write(f'\n[tool.nodepipe.conda]\ndependencies = []\nchannels = ["{folder}"]\n')
            config.write_text(config.read_text().replace(f'["{folder}"]', '["conda-forge"]'))
            refused(client.post(f"{CONDA}/lock", json={"upgrade": False}), other)
            refused(client.post(f"{CONDA}/packages", json=add), other)
    finally:
        workspace.close()


def test_conda_specs_naming_a_file_or_channel_are_checked_like_channels(
    client: TestClient, chain: nodepipe.Workspace, other: OtherUser
) -> None:
    """A spec's own ``url=``, ``channel=`` or ``channel::`` is read by the solver like a
    channel: another user's package file or channel is a 422 naming them, from the request or
    from the node's own specs, and a sent environment.yml names no path of the server (audit2
    F22: before, only the spec's name was checked and their package was installed)."""
    theirs = other.folder("nodepipe-theirs-")
    try:
        channel = conda_channel(theirs)
        other.give(theirs)
        package = next((channel / "noarch").glob("hello-tool-*.conda"))
        pyproject = chain.nodes.path("clean") / "code" / "pyproject.toml"
        before = pyproject.read_text()
        for spec in (
            f"hello-tool[url={package.as_uri()}]",
            f"hello-tool >=1 [ url = '{package}' ]",
            package.as_uri(),
            f"{channel}::hello-tool",
            f'hello-tool[version="1.*", channel="{channel.as_uri()}"]',
        ):
            add = {"specs": [spec], "channels": []}
            refused(client.post(f"{CONDA}/packages", json=add), other)
        text = f"dependencies:\n  - hello-tool[url={package.as_uri()}]\n"
        sent = {"file_name": "environment.yml", "text": text}
        answer = client.post(f"{ENV}/import", json=sent)
        assert "names a path of the server" in error_of(answer, 422, "invalid_input")
        assert pyproject.read_text() == before
        specs = f'["hello-tool[url={package.as_uri()}]", "other-tool"]'
        with pyproject.open("a") as file:  # the node's own spec (the CLI trusts its user)
            file.write(f"\n[tool.nodepipe.conda]\ndependencies = {specs}\nchannels = []\n")
        refused(client.post(f"{CONDA}/lock", json={"upgrade": False}), other)
        refused(client.post(f"{CONDA}/packages", json={"specs": ["x"], "channels": []}), other)
        refused(client.delete(f"{CONDA}/packages", params={"packages": ["other-tool"]}), other)
        # dropping that spec reads nothing of theirs, so the web can undo it
        gone = client.delete(f"{CONDA}/packages", params={"packages": ["hello-tool", "other-tool"]})
        assert gone.status_code == 202, gone.text
        wait_for(lambda: "hello-tool" not in pyproject.read_text(), "the removal")
    finally:
        shutil.rmtree(theirs)


def test_the_code_editor_refuses_a_pyproject_naming_paths_of_other_users(
    client: TestClient, chain: nodepipe.Workspace, theirs: tuple[OtherUser, Path], tmp_path: Path
) -> None:
    """What the code-paths and packages routes refuse, a saved pyproject.toml cannot name
    (audit3 G6): a 422 naming the entry, the file unchanged; paths the file held already, and
    paths of the server's own user, save as before."""
    other, folder = theirs
    code = chain.nodes.path("clean") / "code"
    pyproject = code / "pyproject.toml"
    before = pyproject.read_text()
    version = client.get(
        "/api/pipelines/baseline/nodes/clean/code/file", params={"file": "pyproject.toml"}
    ).json()["version"]

    def save(text: str) -> Any:
        body = {"file": "pyproject.toml", "text": text, "version": version}
        return client.put("/api/pipelines/baseline/nodes/clean/code/file", json=body)

    def nodepipe_key(line: str) -> str:  # into the node's own [tool.nodepipe] table
        if "[tool.nodepipe]\n" in before:
            return before.replace("[tool.nodepipe]\n", f"[tool.nodepipe]\n{line}\n", 1)
        return f"{before}\n[tool.nodepipe]\n{line}\n"

    hostile = {
        "[tool.nodepipe] code-paths": nodepipe_key(f'code-paths = ["{folder}"]'),
        "[tool.uv.sources] theirs path": (
            f'{before}\n[tool.uv.sources]\ntheirs = {{ path = "{folder}", editable = true }}\n'
        ),
        "[tool.nodepipe] command": nodepipe_key(f'command = ["{folder}/python"]'),
        f"requirement 'theirs @ file://{folder}'": before.replace(
            "dependencies = [", f'dependencies = ["theirs @ file://{folder}", ', 1
        ),
    }
    for entry, text in hostile.items():
        message = error_of(save(text), 422, "invalid_input")
        assert message.startswith(f"pyproject.toml {entry}"), message
        assert f"belongs to {other.name}" in message
        assert pyproject.read_text() == before  # unchanged
    assert "dependencies = [" in before  # the requirement case really edited the list

    mine = tmp_path / "scripts"
    mine.mkdir()
    saved = save(nodepipe_key(f'code-paths = ["{mine}"]'))
    assert saved.status_code == 200, saved.text
    assert str(mine) in pyproject.read_text()

    pyproject.write_text(hostile["[tool.nodepipe] code-paths"])  # as `env code-path add` on
    # the command line writes it (the CLI user trusts what they name)
    version = client.get(
        "/api/pipelines/baseline/nodes/clean/code/file", params={"file": "pyproject.toml"}
    ).json()["version"]
    kept = save(pyproject.read_text() + "# a comment\n")  # that path was there already
    assert kept.status_code == 200, kept.text
