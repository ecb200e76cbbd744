"""Fixtures for integration tests: real workspaces, real uv, the CLI in and out of process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from nodepipe.cli.app import main
from support.wheels import toy_index
from support.worlds import CHAIN, build_pipeline


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``nodepipe ARGS`` in this process; returns exit code and captured output."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as stop:
            code = int(stop.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded SQLite default, or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[nodepipe.Workspace]:
    """An empty SQLite workspace at tmp_path/lab, also the current directory."""
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(tmp_path / "lab")
    monkeypatch.chdir(ws.root)
    yield ws
    ws.close()


@pytest.fixture
def offline_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """uv resolves only from a folder of tiny wheels (``support.wheels.toy_index``): offline."""
    wheels = toy_index(tmp_path / "wheels")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    return wheels


@pytest.fixture
def chain(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    """Pipeline ``baseline`` in project ``climate``: load → clean → plot (``CHAIN``)."""
    build_pipeline(lab, "baseline", CHAIN, project="climate")
    return lab


def snapshot(ws: nodepipe.Workspace) -> dict[str, Any]:
    """Everything a refused command must leave unchanged: rows of every kind and the folders."""
    with ws.context.store.read() as session:
        pipelines = session.list_pipelines()
        rows = {
            "projects": session.list_projects(),
            "pipelines": pipelines,
            "nodes": session.list_nodes(),
            "edges": sorted(session.all_edges(), key=lambda e: (e.child_id, e.slot)),
            "memberships": {p.id: session.memberships_of_pipeline(p.id) for p in pipelines},
            "groups": {p.id: session.groups_of_pipeline(p.id) for p in pipelines},
        }
    folders = sorted(p.name for p in ws.context.layout.nodes_dir.iterdir())
    params = {
        name: (ws.context.layout.nodes_dir / name / "code" / "params.yaml").read_text()
        for name in folders
    }
    staging = sorted(p.name for p in ws.context.layout.staging_dir.iterdir())
    return {**rows, "folders": folders, "params": params, "staging": staging}


@pytest.fixture
def offline_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """uv finds packages only in a local folder of toy wheels (``toy_index``), never online."""
    wheels = toy_index(tmp_path / "wheels")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    return wheels
