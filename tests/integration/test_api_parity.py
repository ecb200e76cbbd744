"""Every CLI command has its Python API call (DESIGN §1: the same power on every surface).

The command tree is walked from ``nodepipe.cli.app`` (every lazy sub-command loaded). Each
command is either in ``CALLS``, with the call a Python user makes instead (``ws.nodes.new``, or
a name of the ``nodepipe`` module), or in ``CLI_ONLY``, saying why Python has no call for it.
A new command in neither fails here until it says which; a call that the table names and a
real ``Workspace`` does not answer (renamed, removed) fails too.
"""

from __future__ import annotations

import functools
import inspect
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.cli.app import app
from support.cli_tree import leaf_commands

CALLS: dict[str, tuple[str, ...]] = {
    "backup create": ("ws.backup",),
    "backup list": ("ws.backups",),
    "bundle check": ("ws.bundles.check",),
    "bundle export": ("ws.bundles.export",),
    "bundle import": ("ws.bundles.import_",),
    "connect": ("ws.edges.connect", "ws.edges.connect_many"),
    "disconnect": ("ws.edges.disconnect",),
    "env add": ("ws.envs.add", "ws.external.add_from_node"),
    "env code-path add": ("ws.external.code_path_add",),
    "env code-path remove": ("ws.external.code_path_remove",),
    "env conda add": ("ws.conda.add",),
    "env conda lock": ("ws.conda.lock",),
    "env conda remove": ("ws.conda.remove",),
    "env conda show": ("ws.conda.show",),
    "env detach": ("ws.isolation.detach",),
    "env import": ("ws.envs.import_requirements", "ws.conda.import_file"),
    "env index": ("ws.envs.add_index",),
    "env interpreter": ("ws.isolation.use_interpreter",),
    "env kernel": ("ws.envs.kernel",),
    "env lock": ("ws.envs.lock",),
    "env python": ("ws.envs.set_python",),
    "env remove": ("ws.envs.remove",),
    "env restore": ("ws.run_envs.restore",),
    "env show": ("ws.envs.show",),
    "env sync": ("ws.envs.sync",),
    "env update-snapshot": ("ws.envs.update_snapshot",),
    "env use-shared": ("ws.isolation.use_shared",),
    "group add": ("ws.groups.add",),
    "group collapse": ("ws.groups.collapse",),
    "group expand": ("ws.groups.expand",),
    "group list": ("ws.groups.list",),
    "group new": ("ws.groups.new",),
    "group rename": ("ws.groups.rename",),
    "group rm": ("ws.groups.delete",),
    "group ungroup": ("ws.groups.ungroup",),
    "history": ("ws.run_history.page",),
    "init": ("nodepipe.init",),
    "kill": ("ws.runs.kill",),
    "logs": ("ws.runs.log",),
    "node clear-data": ("ws.nodes.clear_data", "ws.nodes.clearing_losses"),
    "node detach": ("ws.node_copies.detach",),
    "node duplicate": ("ws.node_copies.duplicate",),
    "node list": ("ws.nodes.list",),
    "node lock": ("ws.nodes.lock",),
    "node mark": ("ws.nodes.mark",),
    "node new": ("ws.nodes.new", "ws.nodes.new_many"),
    "node notes": ("ws.nodes.notes",),
    "node params": ("ws.nodes.params", "ws.nodes.set_params", "ws.nodes.edit_params"),
    "node path": ("ws.nodes.path", "ws.nodes.import_path"),
    "node place": ("ws.nodes.place",),
    "node reference": ("ws.node_copies.reference",),
    "node rename": ("ws.nodes.rename",),
    "node replace": ("ws.node_copies.replace", "ws.node_copies.replacement_losses"),
    "node restore": ("ws.nodes.restore",),
    "node rm": ("ws.nodes.delete", "ws.nodes.deletion_losses"),
    "node show": ("ws.nodes.show", "ws.nodes.get"),
    "node unlock": ("ws.nodes.unlock",),
    "package build": (
        "ws.packages.build",
        "ws.packages.build_library",
        "ws.packages.build_all",
    ),
    "package publish": ("ws.packages.publish",),
    "package pull": ("ws.packages.pull", "ws.packages.pull_into", "ws.packages.pull_all"),
    "pipeline base-env add": ("ws.base_envs.add",),
    "pipeline base-env remove": ("ws.base_envs.remove",),
    "pipeline base-env show": ("ws.base_envs.view",),
    "pipeline branch": ("ws.pipeline_copies.branch",),
    "pipeline duplicate": ("ws.pipeline_copies.duplicate",),
    "pipeline include": ("ws.bundles.include", "ws.bundles.update"),
    "pipeline includes": ("ws.bundles.includes",),
    "pipeline lineage": ("ws.pipelines.lineage",),
    "pipeline list": ("ws.pipelines.list",),
    "pipeline lock": ("ws.pipelines.lock",),
    "pipeline merge": ("ws.pipeline_copies.merge",),
    "pipeline move": ("ws.pipelines.move",),
    "pipeline new": ("ws.pipelines.new",),
    "pipeline notes": ("ws.pipelines.notes",),
    "pipeline rename": ("ws.pipelines.rename",),
    "pipeline rm": ("ws.pipelines.delete", "ws.pipelines.deletion_losses"),
    "pipeline show": ("ws.pipelines.show",),
    "pipeline unlock": ("ws.pipelines.unlock",),
    "project list": ("ws.projects.list",),
    "project new": ("ws.projects.new",),
    "project notes": ("ws.projects.notes",),
    "project rename": ("ws.projects.rename",),
    "project rm": ("ws.projects.delete",),
    "project show": ("ws.projects.show",),
    "run": ("ws.runs.run", "nodepipe.RunRequest", "ws.runs.plan"),
    "runs": ("ws.runs.history", "ws.runs.node_runs", "ws.run_envs.show", "ws.run_envs.lock"),
    "server list": ("ws.servers.list",),
    "server password": ("ws.servers.set_password", "ws.servers.clear_password"),
    "shared-env add": ("ws.shared_envs.add",),
    "shared-env list": ("ws.shared_envs.list",),
    "shared-env new": ("ws.shared_envs.new",),
    "shared-env remove": ("ws.shared_envs.remove",),
    "shared-env show": ("ws.shared_envs.show",),
    "status": ("ws.runs.status",),
    "version": ("nodepipe.__version__",),
}
"""Each command → the calls of the Python API that do what it does."""

CLI_ONLY: dict[str, str] = {
    "backup restore": "it replaces the store under every process that has it open, and a "
    "Python process that could call it holds the store open itself (a Workspace): it is "
    "refused while the store is in use, so it is run with no workspace open",
    "demo": "a guided first look for someone at a shell: it builds and runs the weather "
    "pipeline the README shows; in Python the README's own example does the same",
    "doctor": "a repair tool run when the workspace is damaged, possibly so damaged that a "
    "Workspace does not open (a missing or broken store); its findings and advice name its "
    "own options (--repair, --rebuild, --objects)",
    "serve": "a long-running web server process with signal handling and a terminal banner; "
    "Python embeds the same app with nodepipe.api.create_app",
}
"""Commands Python has no call for, and why a Python user does not miss one."""


def test_every_command_has_a_python_call_or_says_why_not() -> None:
    commands = {" ".join(words) for words in leaf_commands()}
    assert not set(CALLS) & set(CLI_ONLY), "a command is in both tables"
    missing = sorted(commands - set(CALLS) - set(CLI_ONLY))
    assert not missing, f"commands with no Python API call and no reason given: {missing}"
    gone = sorted((set(CALLS) | set(CLI_ONLY)) - commands)
    assert not gone, f"the tables name commands the CLI does not have: {gone}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nodepipe.Workspace]:
    with nodepipe.init(tmp_path_factory.mktemp("parity") / "lab") as ws:
        yield ws


@pytest.mark.parametrize("command", sorted(CALLS))
def test_the_python_call_of_each_command_exists(
    command: str, workspace: nodepipe.Workspace
) -> None:
    for call in CALLS[command]:
        owner, *names = call.split(".")
        found: object = workspace if owner == "ws" else nodepipe
        for name in names:
            assert hasattr(found, name), f"{command}: {call} does not exist"
            found = getattr(found, name)
        if call != "nodepipe.__version__":
            assert callable(found), f"{command}: {call} cannot be called"


def test_the_version_is_the_one_the_cli_prints() -> None:
    from click.testing import CliRunner

    printed = CliRunner().invoke(app, ["version"]).output.strip()
    assert printed == f"nodepipe {nodepipe.__version__}"
    assert "__version__" in dir(nodepipe)


def test_a_backup_from_python_is_a_copy_of_the_store_listed_with_the_others(
    workspace: nodepipe.Workspace, tmp_path: Path
) -> None:
    workspace.pipelines.new("kept")
    made = workspace.backup()
    assert made.path in workspace.backups()
    with sqlite3.connect(made.path) as copy:
        assert ("kept",) in copy.execute("SELECT tag FROM pipelines").fetchall()
    named = workspace.backup(str(tmp_path))  # a folder given as text, as a user types it
    assert named.path.parent == tmp_path
    with pytest.raises(nodepipe.ConflictError):
        workspace.backup(named.path)  # never overwrites a backup


VERBS: dict[str, tuple[str, str]] = {
    "rm": ("delete", "delete_"),
    "remove": ("remove", "remove_"),
    "new": ("new", "create_"),
    "list": ("list", "list_"),
}
"""The CLI's last word → the Python API's method and the web API route's name for the same
action (README "One verb for one action"): delete a thing; remove members from what holds them
(packages, a code path); make a thing; list them."""
VERB_EXCEPTIONS: dict[str, str] = {
    "backup list": "backups are the workspace's own: ws.backup() makes one, ws.backups() lists "
    "them (there is no ws.backups service to hold a list method)",
}
"""Commands whose Python call does not carry the verb, and why."""
ROUTE_VERBS = {python_verb: prefix for python_verb, prefix in VERBS.values()}
"""The Python API's verb → how a web API route that calls it is named."""
SYNONYMS = {"rm", "erase", "destroy", "drop", "discard", "purge", "create", "make", "ls"}
"""Words the Python API does not use for a method: each is one of VERBS said another way."""


def _verb_of(call: str) -> str:
    return call.rsplit(".", 1)[-1].rsplit("_", 1)[-1]


@pytest.mark.parametrize(
    "command", sorted(c for c in CALLS if c.split()[-1] in VERBS and c not in VERB_EXCEPTIONS)
)
def test_a_command_and_its_python_call_say_the_same_verb(command: str) -> None:
    """``node rm`` was ``ws.nodes.remove`` while ``pipeline rm`` was ``ws.pipelines.delete``."""
    python_verb, _route = VERBS[command.split()[-1]]
    call = CALLS[command][0]
    assert _verb_of(call) == python_verb, f"{command} is {call}: its verb is {python_verb}"


def test_no_python_method_is_named_by_a_synonym(workspace: nodepipe.Workspace) -> None:
    services = [
        getattr(workspace, name)
        for name, value in vars(type(workspace)).items()
        if isinstance(value, functools.cached_property)
    ]
    named = {
        f"{type(service).__name__}.{name}"
        for service in services
        for name in dir(service)
        if not name.startswith("_") and set(name.split("_")) & SYNONYMS
    }
    assert not named, f"methods named by another word for a verb in VERBS: {sorted(named)}"


def test_each_web_route_that_deletes_or_removes_says_the_verb_of_its_python_call() -> None:
    """``DELETE /nodes`` was ``remove_nodes``, calling what is now ``ws.nodes.delete``."""
    from fastapi.routing import APIRoute

    from nodepipe.api.routers import ROUTERS

    wrong = []
    routes = [route for router in ROUTERS for route in router.routes]
    assert routes
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        name = route.endpoint.__name__
        source = inspect.getsource(route.endpoint)
        called = set(re.findall(r"\bws\.\w+\.(delete|remove|new)\(", source))
        said = {verb for verb, prefix in ROUTE_VERBS.items() if name.startswith(prefix)}
        if called and called != said:
            wrong.append(f"{name} calls {sorted(called)}: named {ROUTE_VERBS[min(called)]}…")
        for verb, (python_verb, prefix) in VERBS.items():
            if verb != python_verb and name.startswith(f"{verb}_"):
                wrong.append(f"{name}: the route for this is named {prefix}…")
    assert not wrong, wrong
