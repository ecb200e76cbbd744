"""Over HTTP, a bundle never makes the server run a program of its machine as a node's Python:
an upload whose node's ``.python-version`` names a path, or whose pyproject sets an
``interpreter``, is a 422 naming node and file while the request lasts (nothing imported, the
program never run); and ``GET …/environment`` of a node set to another OS user's interpreter
says "interpreter not trusted: …" instead of running it to ask its version.

The real app on a real workspace; the program is another OS user's script that writes a marker.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of
from support.hostile_pyproject import with_nodepipe_setting
from support.other_user import their_python

CODE = "nodes/clean/code/"
ENV = "/api/pipelines/baseline/nodes/clean/environment"


@pytest.fixture
def theirs(tmp_path: Path) -> Iterator[Path]:
    """Another OS user's script that writes tmp_path/ran.txt, then runs the real Python."""
    with their_python(tmp_path / "ran.txt") as script:
        yield script


def _zipped(members: dict[str, bytes]) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return packed.getvalue()


def test_an_upload_naming_a_python_by_path_is_a_422_and_runs_nothing(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path, theirs: Path
) -> None:
    with zipfile.ZipFile(io.BytesIO(client.get("/api/pipelines/baseline/bundle.zip").content)) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    pyproject = members[CODE + "pyproject.toml"].decode()
    hostile = {
        CODE + ".python-version": {**members, CODE + ".python-version": f"{theirs}\n".encode()},
        CODE + "pyproject.toml": {
            **members,
            CODE + "pyproject.toml": with_nodepipe_setting(
                pyproject, "interpreter", str(theirs)
            ).encode(),
        },
    }
    before = [p.id for p in chain.pipelines.list()]
    for file, files in hostile.items():
        files = {"archive": ("bundle.zip", _zipped(files), "application/zip")}
        message = error_of(client.post("/api/bundles", files=files, data={"name": "evil"}), 422)
        assert f"clean: {file}" in message, message
    assert [p.id for p in chain.pipelines.list()] == before
    assert not (tmp_path / "ran.txt").exists()


def test_the_environment_of_a_node_on_another_users_interpreter_is_shown_without_running_it(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path, theirs: Path
) -> None:
    refused = client.put(
        f"{ENV}/isolation", json={"mode": "interpreter", "interpreter": str(theirs)}
    )
    assert refused.status_code == 422
    pyproject = chain.nodes.path("clean", "baseline") / "code" / "pyproject.toml"
    pyproject.write_text(
        with_nodepipe_setting(pyproject.read_text(encoding="utf-8"), "interpreter", str(theirs)),
        encoding="utf-8",
    )
    shown = client.get(ENV)
    assert shown.status_code == 200, shown.text
    assert shown.json()["python"].startswith("interpreter not trusted: refusing to use")
    assert not (tmp_path / "ran.txt").exists()
