"""Every command that takes ``--json`` prints a schema the API answers with: a table says which
API operation answers each command's object (``ANSWERED``), or why only the CLI shows it
(``CLI_ONLY``), and the tests hold the table to the code.

- the table names exactly the commands that take ``--json`` (walked from the command tree):
  a new command with ``--json`` fails here until it says what it prints;
- each operation it names exists, and answers the schema named (itself, a list of it, or
  within it);
- each command with an example runs, on its own copy of the chain workspace, and what it
  prints is validated by that schema as the API publishes it: the JSON Schema pydantic makes
  of the response model for answers (its OpenAPI document's), unknown fields refused, every
  field required, types, enums and formats checked. A field renamed, added, dropped or
  formatted otherwise fails. (The schemas read domain values, by aliases and with computed
  fields: they cannot read their own JSON back, so their published form is the judge.)

``test_same_json`` compares the two documents of one state for every schema; this walks every
command, mutations included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter

import nodepipe
from api.test_same_json import schemas_within
from nodepipe.api.routers import ROUTERS
from nodepipe.cli.app import app as cli_app
from nodepipe.schemas import shared_schemas

Line = tuple[str, ...]
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


@dataclass(frozen=True)
class Answered:
    """The API operation that answers a command's object (its route's method and path)."""

    method: str
    path: str
    schema: str | None = None
    """The shared schema the command prints, where it is not the route's whole answer (a
    part of it: a node of the pipeline's graph); None: the route's own answer."""
    many: bool = False
    """The command prints a list of them (the route answers one)."""
    example: Line | None = None
    """A command line that prints it, run on a copy of the chain workspace (None: it needs
    what this workspace lacks: a bundle, a conda channel, a package index; ``test_same_json``
    or the command's own tests run it)."""
    before: tuple[Line, ...] = ()
    """Command lines run before the example (what it needs)."""


_NODE = "/pipelines/{pipeline}/nodes/{node}"
_ENV = f"{_NODE}/environment"
_GRAPH = Answered("GET", "/pipelines/{pipeline}")
_NODE_PATCH = Answered("PATCH", _NODE)
_PIPELINE_PATCH = Answered("PATCH", "/pipelines/{pipeline}")
_PROJECT_PATCH = Answered("PATCH", "/projects/{project}")
_GROUP = Answered("GET", "/pipelines/{pipeline}/groups", "GroupPublic")
_GROUP_CHANGE = Answered("PATCH", "/pipelines/{pipeline}/groups/{group}")
_ENVIRONMENT = Answered("GET", _ENV)
_SHARED = Answered("GET", "/shared-envs/{name}")
_BASE = Answered("GET", "/pipelines/{pipeline}/base-packages")
_CONDA = Answered("GET", f"{_ENV}/conda")
_COPIES = Answered("GET", _NODE, "NodePublic", many=True)
_P = ("-p", "baseline")


def _with(answered: Answered, *example: str, before: tuple[Line, ...] = ()) -> Answered:
    return Answered(answered.method, answered.path, answered.schema, answered.many, example, before)


ANSWERED: dict[str, Answered] = {
    "project new": Answered("POST", "/projects", example=("project", "new", "ocean")),
    "project list": Answered("GET", "/projects", example=("project", "list")),
    "project show": Answered("GET", "/projects/{project}", example=("project", "show", "climate")),
    "project rename": _with(_PROJECT_PATCH, "project", "rename", "climate", "weather"),
    "project notes": _with(_PROJECT_PATCH, "project", "notes", "climate", "all of it"),
    # DELETE answers nothing (204): the project removed, as the listing shows it
    "project rm": Answered(
        "GET",
        "/projects",
        "ProjectPublic",
        example=("project", "rm", "ocean"),
        before=(("project", "new", "ocean"),),
    ),
    "pipeline new": Answered("POST", "/pipelines", example=("pipeline", "new", "second")),
    "pipeline list": Answered("GET", "/pipelines", example=("pipeline", "list")),
    "pipeline show": _with(_GRAPH, "pipeline", "show", "baseline"),
    "pipeline lineage": Answered(
        "GET",
        "/projects/{project}",
        "LineagePublic",
        many=True,
        example=("pipeline", "lineage", "--project", "climate"),
    ),
    "pipeline rename": _with(_PIPELINE_PATCH, "pipeline", "rename", "baseline", "first"),
    "pipeline notes": _with(_PIPELINE_PATCH, "pipeline", "notes", "baseline", "the chain"),
    # copies are jobs (202): the app then reads the new pipeline
    "pipeline branch": _with(
        _GRAPH, "pipeline", "branch", "baseline", "--from", "plot", "--name", "b"
    ),
    "pipeline duplicate": _with(_GRAPH, "pipeline", "duplicate", "baseline", "--name", "twin"),
    "pipeline merge": _with(
        _GRAPH,
        "pipeline",
        "merge",
        "baseline",
        "other",
        "--name",
        "both",
        before=(("pipeline", "new", "other"),),
    ),
    "pipeline move": _with(
        _PIPELINE_PATCH,
        "pipeline",
        "move",
        "baseline",
        "--project",
        "ocean",
        before=(("project", "new", "ocean"),),
    ),
    "pipeline lock": _with(_PIPELINE_PATCH, "pipeline", "lock", "baseline"),
    "pipeline unlock": _with(_PIPELINE_PATCH, "pipeline", "unlock", "baseline"),
    "pipeline rm": Answered(
        "DELETE", "/pipelines/{pipeline}", example=("pipeline", "rm", "baseline", "--yes")
    ),
    "pipeline base-env add": _with(
        _BASE,
        "pipeline",
        "base-env",
        "empty",
        "add",
        "toypkg==1.0",
        before=(("pipeline", "new", "empty"),),
    ),
    "pipeline base-env remove": _with(
        _BASE,
        "pipeline",
        "base-env",
        "empty",
        "remove",
        "toypkg",
        before=(("pipeline", "new", "empty"), ("pipeline", "base-env", "empty", "add", "toypkg")),
    ),
    "pipeline base-env show": _with(_BASE, "pipeline", "base-env", "baseline", "show"),
    "pipeline includes": Answered("GET", "/pipelines/{pipeline}/includes"),
    # --update: what the update changed; else the pipeline including the bundle (a job)
    "pipeline include": Answered("POST", "/pipelines/{pipeline}/includes/{namespace}/update"),
    "node new": Answered("POST", "/pipelines/{pipeline}/nodes"),
    "node restore": Answered("GET", _NODE, "NodePublic"),
    "node list": Answered("GET", _NODE, "NodePublic", many=True, example=("node", "list", *_P)),
    "node show": Answered("GET", _NODE, example=("node", "show", "clean", *_P)),
    "node rename": _with(_NODE_PATCH, "node", "rename", "clean", "tidy", *_P),
    "node notes": _with(_NODE_PATCH, "node", "notes", "clean", "cleans", *_P),
    "node params": Answered(
        "PUT", f"{_NODE}/params", example=("node", "params", "clean", "--set", "k=1", *_P)
    ),
    "node mark": _with(_NODE_PATCH, "node", "mark", "clean", "completed", *_P),
    "node lock": _with(_NODE_PATCH, "node", "lock", "clean", *_P),
    "node unlock": _with(_NODE_PATCH, "node", "unlock", "clean", *_P),
    "node clear-data": Answered(
        "DELETE", f"{_NODE}/data", example=("node", "clear-data", "clean", "--yes", *_P)
    ),
    # a node's place: the node as the pipeline's graph shows it
    "node place": Answered(
        "GET",
        "/pipelines/{pipeline}",
        "CanvasNode",
        example=("node", "place", "clean", "--x", "40", "--y", "80", *_P),
    ),
    "node duplicate": _with(_COPIES, "node", "duplicate", "clean", *_P),
    "node reference": Answered(
        "POST",
        "/pipelines/{pipeline}/references",
        example=("node", "reference", "clean", "--into", "other", *_P),
        before=(("pipeline", "new", "other"),),
    ),
    "node detach": _with(
        _COPIES,
        "node",
        "detach",
        "load",
        "-p",
        "b",
        before=(("pipeline", "branch", "baseline", "--from", "plot", "--name", "b"),),
    ),
    "node replace": Answered(
        "POST",
        "/pipelines/{pipeline}/replacements",
        example=("node", "replace", "clean", "load", "--keep", *_P),
    ),
    "node rm": Answered(
        "DELETE", "/pipelines/{pipeline}/nodes", example=("node", "rm", "plot", "--yes", *_P)
    ),
    "group new": Answered(
        "POST", "/pipelines/{pipeline}/groups", example=("group", "new", "baseline", "g", "load")
    ),
    "group list": Answered(
        "GET", "/pipelines/{pipeline}/groups", example=("group", "list", "baseline")
    ),
    "group add": _with(
        _GROUP_CHANGE,
        "group",
        "add",
        "baseline",
        "g",
        "clean",
        before=(("group", "new", "baseline", "g", "load"),),
    ),
    "group ungroup": Answered(
        "POST",
        "/pipelines/{pipeline}/groups/ungroupings",
        example=("group", "ungroup", "baseline", "load"),
        before=(("group", "new", "baseline", "g", "load"),),
    ),
    "group rename": _with(
        _GROUP_CHANGE,
        "group",
        "rename",
        "baseline",
        "g",
        "h",
        before=(("group", "new", "baseline", "g", "load"),),
    ),
    "group collapse": _with(
        _GROUP_CHANGE,
        "group",
        "collapse",
        "baseline",
        "g",
        before=(("group", "new", "baseline", "g", "load"),),
    ),
    "group expand": _with(
        _GROUP_CHANGE,
        "group",
        "expand",
        "baseline",
        "g",
        before=(("group", "new", "baseline", "g", "load"),),
    ),
    "group rm": Answered(
        "DELETE",
        "/pipelines/{pipeline}/groups/{group}",
        example=("group", "rm", "baseline", "g"),
        before=(("group", "new", "baseline", "g", "load"),),
    ),
    "connect": Answered(
        "POST", "/pipelines/{pipeline}/edges", example=("connect", "load", "plot", *_P)
    ),
    "disconnect": Answered(
        "DELETE",
        "/pipelines/{pipeline}/edges/{parent}/{child}",
        example=("disconnect", "clean", "plot", *_P),
    ),
    # --dry-run; a run prints the events of /api/events, one a line (test_event_types)
    "run": Answered("POST", "/pipelines/{pipeline}/plan", example=("run", "baseline", "--dry-run")),
    "status": Answered("GET", "/pipelines/{pipeline}/status", example=("status", "baseline")),
    # --run: /runs/{run}/node-runs; --node: /runs/{run}/nodes/{node}/environment (same_json)
    "runs": Answered("GET", "/runs", example=("runs", "baseline")),
    "history": Answered("GET", "/pipelines/{pipeline}/history", example=("history", "baseline")),
    "kill": Answered("POST", "/pipelines/{pipeline}/kill"),  # what a run has running
    "env conda add": _CONDA,
    "env conda remove": _CONDA,
    "env conda lock": _CONDA,
    "env conda show": _with(_CONDA, "env", "conda", "show", "clean", *_P),
    "env add": _ENVIRONMENT,
    "env remove": _ENVIRONMENT,
    "env index": _ENVIRONMENT,
    "env sync": _with(_ENVIRONMENT, "env", "sync", "clean", *_P),
    "env restore": _ENVIRONMENT,
    "env lock": _ENVIRONMENT,
    "env show": _with(_ENVIRONMENT, "env", "show", "clean", *_P),
    "env python": _ENVIRONMENT,
    "env import": _ENVIRONMENT,  # a conda environment file: the conda part
    "env update-snapshot": _ENVIRONMENT,
    "env code-path add": _ENVIRONMENT,
    "env code-path remove": _ENVIRONMENT,
    "env use-shared": _ENVIRONMENT,
    "env interpreter": _ENVIRONMENT,
    "env detach": _ENVIRONMENT,
    "shared-env new": _with(_SHARED, "shared-env", "new", "tools"),
    "shared-env add": _SHARED,
    "shared-env remove": _SHARED,
    "shared-env show": _with(
        _SHARED, "shared-env", "show", "tools", before=(("shared-env", "new", "tools"),)
    ),
    "shared-env list": Answered(
        "GET",
        "/shared-envs",
        example=("shared-env", "list"),
        before=(("shared-env", "new", "tools"),),
    ),
    "bundle import": _GRAPH,
    "package pull": _GRAPH,  # --all: a list of its own (each pulled bundle's outcome)
}
"""Each command that prints with ``--json`` what the API answers, by its name."""

CLI_ONLY: dict[str, str] = {
    "init": "the root and store of GET /api/workspace (the workspace made)",
    "version": "the version of GET /api/workspace",
    "server list": "the servers running on this machine",
    "server password": "a server's password set or removed",
    "backup create": "the backup made (a file of this machine)",
    "backup list": "the backups kept",
    "backup restore": "the store put back",
    "bundle export": "the folder written (GET /api/pipelines/{p}/bundle.zip is the file)",
    "bundle check": "a bundle folder's problems",
    "package build": "the files built (the app's build is a job that names them)",
    "package publish": "the files uploaded",
    "doctor": "the workspace's leftovers and their sizes",
}
"""Each command whose ``--json`` only the CLI prints, and what it prints."""


def json_commands() -> Iterator[str]:
    """The name of every command that takes ``--json`` (``pipeline base-env add``)."""
    context = click.Context(cli_app)

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                yield from walk(sub, (*path, name))
        elif any("--json" in parameter.opts for parameter in command.params):
            yield " ".join(path)

    yield from walk(cli_app, ())


def test_every_json_command_says_what_it_prints() -> None:
    assert not set(ANSWERED) & set(CLI_ONLY)
    assert set(json_commands()) == set(ANSWERED) | set(CLI_ONLY)


def the_route(answered: Answered, routes: list[APIRoute]) -> APIRoute:
    found = [
        route
        for route in routes
        if route.path == answered.path and answered.method in route.methods
    ]
    assert len(found) == 1, f"no API operation {answered.method} {answered.path}"
    return found[0]


def printed_schema(answered: Answered, route: APIRoute) -> Any:
    """The type what the command prints is validated by: the schema named, or the route's."""
    if answered.schema is None:
        model: Any = route.response_model
    else:
        model = shared_schemas()[answered.schema]
    return list[model] if answered.many else model  # type: ignore[valid-type]


@pytest.fixture(scope="module")
def routes() -> list[APIRoute]:
    """Every operation of the API (the routers the app mounts under ``/api``)."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


@pytest.mark.parametrize("command", sorted(ANSWERED))
def test_the_api_operation_answers_the_schema(command: str, routes: list[APIRoute]) -> None:
    answered = ANSWERED[command]
    route = the_route(answered, routes)
    assert route.response_model is not None, f"{answered.path} answers no JSON"
    if answered.schema is not None:
        answer = route.response_model
        models = set(_models(answer)) | {m for a in _models(answer) for m in schemas_within(a)}
        assert shared_schemas()[answered.schema] in models


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in getattr(annotation, "__args__", ()):
        yield from _models(argument)


def run_cli(root: Path, line: Line) -> Any:
    result = CliRunner().invoke(cli_app, ["-w", str(root), *line, "--json"])
    assert result.exit_code == 0, f"{' '.join(line)}: {result.output}"
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "command", sorted(name for name, answered in ANSWERED.items() if answered.example)
)
def test_the_command_prints_the_apis_schema(
    command: str, chain: nodepipe.Workspace, routes: list[APIRoute]
) -> None:
    answered = ANSWERED[command]
    assert answered.example is not None
    chain.close()  # the command opens the workspace itself
    for line in answered.before:
        run_cli(chain.root, line)
    printed = run_cli(chain.root, answered.example)
    published = TypeAdapter(printed_schema(answered, the_route(answered, routes)))
    schema = published.json_schema(mode="serialization")  # what the OpenAPI document says
    Draft202012Validator(schema, format_checker=FORMAT_CHECKER).validate(printed)
