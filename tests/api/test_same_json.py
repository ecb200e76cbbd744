"""The CLI's ``--json`` prints the API's JSON for the same object, for every object both show.

Each row of ``SHOWN`` runs a command through the real CLI and a request through the real app
on one workspace and compares the two documents. Commands that change the workspace run on
two copies of it, the CLI on one and the app on the other. The table is checked against the
code: every schema of ``nodepipe.schemas`` must be answered by a row (or be part of what a
row answers), so a new object type without its row fails here.

A command that fails prints with ``--json`` the API's error body for the same error (each row
of ``REFUSED``), run as a real process: what a script reads is stdout and the exit status.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

import nodepipe
from api.conftest import LOOPBACK, authorized
from nodepipe.api import create_app
from nodepipe.cli.app import app as cli_app
from nodepipe.schemas import SchemaName, shared_schemas
from nodepipe.services.runs.service import RunRequest
from support.locked_bundles import (
    APPEND_INPUTS,
    alpha_including_features,
)


@dataclass(frozen=True)
class Shown:
    """One object both interfaces show: the CLI command and the API request that show it."""

    schema: str
    command: tuple[str, ...]
    method: str
    path: str
    body: dict[str, Any] | None = None
    part: str | None = None
    """The key of the API's answer that holds the object (None: the whole answer)."""
    changes: bool = False
    """The command changes the workspace: the CLI and the app each get a copy."""


SHOWN = [
    Shown("ProjectPublic", ("project", "list"), "GET", "/api/projects"),
    Shown("ProjectDetail", ("project", "show", "climate"), "GET", "/api/projects/climate"),
    Shown(
        "LineagePublic",
        ("pipeline", "lineage", "--project", "climate"),
        "GET",
        "/api/projects/climate",
        part="lineage",
    ),
    Shown("PipelinePublic", ("pipeline", "list"), "GET", "/api/pipelines"),
    Shown("PipelineGraph", ("pipeline", "show", "baseline"), "GET", "/api/pipelines/baseline"),
    Shown(
        "NodePublic",
        ("node", "notes", "clean", "cleans the data", "-p", "baseline"),
        "PATCH",
        "/api/pipelines/baseline/nodes/clean",
        body={"notes": "cleans the data"},
        changes=True,
    ),
    Shown(
        "NodeDetail",
        ("node", "show", "clean", "-p", "baseline"),
        "GET",
        "/api/pipelines/baseline/nodes/clean",
    ),
    Shown(
        "ParamsPublic",
        ("node", "params", "clean", "-p", "baseline"),
        "GET",
        "/api/pipelines/baseline/nodes/clean",
        part="params",
    ),
    Shown(
        "EdgePublic",
        ("connect", "load", "plot", "-p", "baseline"),
        "POST",
        "/api/pipelines/baseline/edges",
        body={"parent": "load", "child": "plot"},
        changes=True,
    ),
    Shown("GroupPublic", ("group", "list", "baseline"), "GET", "/api/pipelines/baseline/groups"),
    Shown(
        "GroupChangePublic",
        ("group", "add", "baseline", "inputs", "clean", "load"),
        "PATCH",
        "/api/pipelines/baseline/groups/inputs",
        body={"add_nodes": ["clean", "load"]},
        changes=True,
    ),
    Shown(
        "UngroupedPublic",
        ("group", "ungroup", "baseline", "load", "clean"),
        "POST",
        "/api/pipelines/baseline/groups/ungroupings",
        body={"nodes": ["load", "clean"]},
        changes=True,
    ),
    Shown(
        "ReplacementPublic",
        ("node", "replace", "clean", "load", "-p", "baseline", "--keep"),
        "POST",
        "/api/pipelines/baseline/replacements",
        body={"old": "clean", "new": "load", "keep": True},
        changes=True,
    ),
    Shown(
        "RemovalPublic",
        ("node", "rm", "plot", "-p", "baseline", "--yes"),
        "DELETE",
        "/api/pipelines/baseline/nodes?nodes=plot",
        changes=True,
    ),
    Shown(
        "PipelineStatusPublic",
        ("status", "baseline"),
        "GET",
        "/api/pipelines/baseline/status",
    ),
    Shown(
        "PlanPublic",
        ("run", "baseline", "--dry-run", "--force", "--to", "clean"),
        "POST",
        "/api/pipelines/baseline/plan",
        body={"force": True, "to": ["clean"]},
    ),
    Shown("RunPublic", ("runs", "baseline"), "GET", "/api/runs?pipeline=baseline"),
    Shown("NodeRunPublic", ("runs", "--run", "{run}"), "GET", "/api/runs/{run}/node-runs"),
    Shown(
        "RunHistoryPublic",
        ("history", "baseline"),
        "GET",
        "/api/pipelines/baseline/history?limit=20",
    ),
    Shown(
        "PastEnvironmentPublic",
        ("runs", "--run", "{run}", "--node", "clean"),
        "GET",
        "/api/runs/{run}/nodes/clean/environment",
    ),
    Shown(
        "StoredLockPublic",
        ("runs", "--run", "{run}", "--node", "clean", "--lock"),
        "GET",
        "/api/runs/{run}/nodes/clean/locks/uv",
    ),
    Shown(
        "EnvironmentPublic",
        ("env", "show", "clean", "-p", "baseline"),
        "GET",
        "/api/pipelines/baseline/nodes/clean/environment",
    ),
    Shown(
        "CondaEnvironmentPublic",
        ("env", "conda", "show", "clean", "-p", "baseline"),
        "GET",
        "/api/pipelines/baseline/nodes/clean/environment/conda",
    ),
    Shown(
        "BasePackagesPublic",
        ("pipeline", "base-env", "empty", "show"),
        "GET",
        "/api/pipelines/empty/base-packages",
    ),
    Shown("SharedEnvPublic", ("shared-env", "show", "tools"), "GET", "/api/shared-envs/tools"),
    Shown(
        "IncludePublic", ("pipeline", "includes", "alpha"), "GET", "/api/pipelines/alpha/includes"
    ),
    Shown(
        "IncludeUpdatePublic",
        ("pipeline", "include", "alpha", "--update", "features", "--yes"),
        "POST",
        "/api/pipelines/alpha/includes/features/update",
        body={"confirm_removals": True},
        changes=True,
    ),
]


@dataclass(frozen=True)
class Refused:
    """A command both interfaces refuse, and the request the API refuses alike."""

    kind: str
    command: tuple[str, ...]
    method: str
    path: str
    body: dict[str, Any] | None = None


REFUSED = [
    Refused(
        "not_found",
        ("node", "show", "nosuch", "-p", "baseline"),
        "GET",
        "/api/pipelines/baseline/nodes/nosuch",
    ),
    Refused(
        "cycle",
        ("connect", "plot", "load", "-p", "baseline"),
        "POST",
        "/api/pipelines/baseline/edges",
        body={"parent": "plot", "child": "load"},
    ),
    Refused(  # with a hint: detach it
        "read_only",
        ("node", "notes", "load", "changed", "-p", "variant"),
        "PATCH",
        "/api/pipelines/variant/nodes/load",
        body={"notes": "changed"},
    ),
]

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))


@dataclass(frozen=True)
class World:
    """A workspace holding one of everything: parameters, a group, lineage, a finished run,
    base packages, a shared environment, a pipeline including a bundle (changed since: an
    update has something to say)."""

    root: Path
    run_id: str

    def copy(self, to: Path) -> Path:
        shutil.copytree(self.root, to, symlinks=True)
        return to


@pytest.fixture(scope="module")
def world(chain_template: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("world") / "lab"
    shutil.copytree(chain_template, root, symlinks=True)
    with nodepipe.open(root) as ws:
        ws.nodes.set_params("clean", ["threshold=0.5", "mode=fast"], pipeline="baseline")
        ws.groups.new("baseline", "inputs", ["load"])
        ws.pipeline_copies.branch("baseline", "plot", "variant")
        ran = ws.runs.run(RunRequest("baseline"))
        ws.pipelines.new("empty", project="climate")
        ws.base_envs.add("empty", ["toypkg[cli]==1.0"])
        ws.shared_envs.new("tools")
        library = include_a_library(ws, tmp_path_factory.mktemp("bundles"))
    (library / "nodes" / "clean" / "code" / "main.py").write_text(APPEND_INPUTS + "# v2\n")
    assert ran.run_id is not None and ran.finished is not None and not ran.finished.failed
    return World(root, ran.run_id)


def include_a_library(ws: nodepipe.Workspace, folder: Path) -> Path:
    """Import ``alpha``, whose ``prep`` feeds the included bundle ``features``; its folder."""
    library, alpha = alpha_including_features(folder)
    ws.bundles.import_(alpha)
    return library


def cli_json(root: Path, command: tuple[str, ...]) -> Any:
    """What ``nodepipe -w ROOT COMMAND --json`` prints, parsed."""
    result = CliRunner().invoke(cli_app, ["-w", str(root), *command, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def api_json(root: Path, shown: Shown, path: str) -> Any:
    """What the app on the workspace at ``root`` answers to the row's request."""
    with nodepipe.open(root) as ws, authorized(create_app(ws, LOOPBACK)) as client:
        answer = client.request(shown.method, path, json=shown.body)
    assert answer.is_success, answer.text
    data = answer.json()
    return data if shown.part is None else data[shown.part]


@pytest.mark.parametrize("shown", SHOWN, ids=lambda shown: shown.schema)
def test_the_cli_prints_the_apis_json(shown: Shown, world: World, tmp_path: Path) -> None:
    command = tuple(part.format(run=world.run_id) for part in shown.command)
    path = shown.path.format(run=world.run_id)
    cli_root, api_root = world.root, world.root
    if shown.changes:
        cli_root, api_root = world.copy(tmp_path / "cli"), world.copy(tmp_path / "api")
    printed = cli_json(cli_root, command)
    assert printed, "an empty answer would prove nothing"
    assert printed == api_json(api_root, shown, path)


@pytest.mark.parametrize("refused", REFUSED, ids=lambda refused: refused.kind)
def test_a_refused_command_prints_the_apis_error_body(refused: Refused, world: World) -> None:
    env = {**os.environ, "NODEPIPE_FORK_SERVER": "0"}
    command = [NODEPIPE, "-w", str(world.root), *refused.command, "--json"]
    ended = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert ended.returncode not in (0, 1), ended.stderr  # its own exit code, as without --json
    assert ended.stderr.startswith("error: ")  # people still read the message, as a command
    printed = json.loads(ended.stdout)
    with nodepipe.open(world.root) as ws, authorized(create_app(ws, LOOPBACK)) as client:
        answer = client.request(refused.method, refused.path, json=refused.body)
    assert not answer.is_success
    assert printed == answer.json()
    assert printed["kind"] == refused.kind
    if refused.kind == "read_only":
        assert printed["hint"] == {
            "action": "node.detach",
            "params": {"node": printed["hint"]["params"]["node"], "pipeline": "variant"},
        }


def schemas_within(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """The models ``model``'s fields hold (in lists, unions, ...), and theirs."""
    for field in model.model_fields.values():
        for inner in _models_in(field.annotation):
            yield inner
            yield from schemas_within(inner)


def _models_in(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


def test_every_shared_schema_is_compared() -> None:
    schemas = shared_schemas()
    compared = {schemas[shown.schema] for shown in SHOWN} | {schemas["ErrorPublic"]}
    compared |= {inner for model in list(compared) for inner in schemas_within(model)}
    assert {model.__name__ for model in compared} == set(schemas)


def test_the_cli_names_every_shared_schema() -> None:
    assert set(typing.get_args(SchemaName)) == set(shared_schemas())


def test_the_python_api_names_base_packages_as_their_json(world: World) -> None:
    """``ws.base_envs.view(P)`` answers ``pipeline_id`` and ``packages``, as the JSON does; the
    former names (``id``, ``base_packages``) still answer, with a DeprecationWarning."""
    printed = cli_json(world.root, ("pipeline", "base-env", "empty", "show"))
    with nodepipe.open(world.root) as ws:
        base = ws.base_envs.view("empty")
    assert base.pipeline_id == printed["pipeline_id"]
    assert list(base.packages) == printed["packages"] == ["toypkg[cli]==1.0"]
    with pytest.warns(DeprecationWarning, match="BasePackages.id is now BasePackages.pipeline_id"):
        assert base.id == base.pipeline_id
    with pytest.warns(DeprecationWarning, match="is now BasePackages.packages"):
        assert base.base_packages == base.packages
