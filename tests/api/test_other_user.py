"""Another OS user of the machine against a real server that root started on loopback.

Without the token that user reads, changes and runs nothing; it cannot read the server's info
file nor find the token in the server's command line or environment; and a project in a folder
it owns, with an in-tree PEP 517 backend that would leave a marker, is never built, even when
the request carries the token.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import nodepipe
from api.live import LiveServer, server_process
from integration.conftest import snapshot
from support.other_user import OtherUser

ENV = "/api/pipelines/baseline/nodes/clean/environment/packages"
BACKEND = """\
import pathlib

pathlib.Path({marker!r}).write_text("this ran as the server's user")


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(directory, config_settings=None):
    raise RuntimeError("a trap, not a package")


build_wheel = build_editable = prepare_metadata_for_build_editable = (
    prepare_metadata_for_build_wheel
)
"""
PYPROJECT = """\
[project]
name = "trap"
dynamic = ["version"]

[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""


@pytest.fixture
def runtime(open_area: Path) -> Path:
    """The server's runtime folder, under a folder every user may enter (so only its own
    permissions keep the other user out)."""
    return open_area / "runtime"


@pytest.fixture
def served(chain: nodepipe.Workspace, tmp_path: Path, runtime: Path) -> Iterator[LiveServer]:
    with server_process(chain.root, tmp_path / "serve.log", runtime) as live:
        yield live


@pytest.fixture
def trap(other: OtherUser, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a project folder the other user owns, the marker its build backend would write)."""
    folder = other.folder("nodepipe-trap-")
    marker = tmp_path / "backend-ran"
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "backend.py").write_text(BACKEND.format(marker=str(marker)))
    other.give(folder)
    yield folder, marker
    shutil.rmtree(folder)


def state(ws: nodepipe.Workspace) -> dict[str, Any]:
    """Rows, folders, and every node's project and lock: what a refusal leaves alone."""
    projects = {
        folder.name: [
            (folder / "code" / name).read_bytes() for name in ("pyproject.toml", "uv.lock")
        ]
        for folder in ws.context.layout.nodes_dir.iterdir()
    }
    return {**snapshot(ws), "projects": projects, "runs": ws.runs.history()}


def test_without_the_token_another_user_reads_changes_and_runs_nothing(
    chain: nodepipe.Workspace,
    served: LiveServer,
    other: OtherUser,
    trap: tuple[Path, Path],
) -> None:
    folder, marker = trap
    before = state(chain)
    url = served.url
    attempts = [
        other.request("GET", f"{url}/api/projects"),
        other.request("GET", f"{url}/api/pipelines/baseline"),
        other.request("DELETE", f"{url}/api/pipelines/baseline"),
        other.request("POST", f"{url}/api/pipelines/baseline/runs", {}),
        other.request("POST", f"{url}{ENV}", {"path": str(folder)}),
        other.request("GET", f"{url}/api/projects?token=guessed-token-1234567890"),
        other.request("GET", f"{url}/api/workspace", token="guessed-token-1234567890"),
        other.request("GET", f"{url}/api/docs"),
    ]
    assert [answer.status for answer in attempts] == [401] * len(attempts)
    assert "needs its token" in attempts[-1].body
    shell = other.request("GET", f"{url}/", token="guessed-token-1234567890")
    assert shell.status in (200, 503) and str(chain.root) not in shell.body  # static files only
    assert state(chain) == before
    assert (chain.root / "nodes").is_dir() and chain.pipelines.get("baseline")
    assert not marker.exists()


def test_another_user_cannot_find_the_token(
    served: LiveServer, other: OtherUser, runtime: Path
) -> None:
    (info,) = runtime.glob("server-*.json")
    assert served.token in info.read_text()
    assert other.run("cat", str(info)).returncode != 0
    assert other.run("ls", str(runtime)).returncode != 0
    command_line = other.run("cat", f"/proc/{served.pid}/cmdline")
    assert command_line.returncode == 0 and served.token not in command_line.stdout
    assert other.run("cat", f"/proc/{served.pid}/environ").returncode != 0


def test_code_in_another_users_folder_never_runs_even_with_the_token(
    chain: nodepipe.Workspace,
    served: LiveServer,
    other: OtherUser,
    trap: tuple[Path, Path],
) -> None:
    folder, marker = trap
    before = state(chain)
    bodies = [
        {"path": str(folder)},
        {"snapshot": str(folder)},
        {"shared": str(folder)},
        {"requirements": [f"trap @ file://{folder}"]},
    ]
    for body in bodies:
        answer = httpx.post(f"{served.url}{ENV}", json=body, headers=served.headers)
        assert answer.status_code == 422, answer.text
        assert f"belongs to {other.name}" in answer.json()["message"]
    from_other = other.request("POST", f"{served.url}{ENV}", {"path": str(folder)}, served.token)
    assert from_other.status == 422 and str(folder) in from_other.body
    assert state(chain) == before
    assert not marker.exists()
