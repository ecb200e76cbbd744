"""`nodepipe env ...` and `nodepipe shared-env ...`: node environments and shared ones."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from nodepipe.cli.conda import conda, show_conda
from nodepipe.cli.options import (
    CommandGroup,
    command_group,
    json_option,
    large_option,
    lookup_pipeline_option,
    names_argument,
)
from nodepipe.cli.output import console, done, print_warning, render, say
from nodepipe.cli.session import workspace
from nodepipe.domain.requirements import requirement_name

if TYPE_CHECKING:
    from nodepipe.services.envs.base_packages import BasePackages
    from nodepipe.services.envs.environments import EnvironmentView
    from nodepipe.services.envs.shared_envs import SharedEnvView

env = command_group("env", "A node's environment: packages, Python version, snapshots, kernel.")
shared_env = command_group("shared-env", "Named environments that several nodes share.")
env.add_command(conda)


@click.group("base-env", cls=CommandGroup, no_args_is_help=True)
@click.argument("pipeline")
@click.pass_context
def base_env(ctx: click.Context, pipeline: str) -> None:
    """Packages every node of PIPELINE gets: `nodepipe pipeline base-env P add numpy==2.1.3`."""
    ctx.obj = pipeline


def show_environment(view: EnvironmentView, as_json: bool) -> None:
    render(view, as_json, "EnvironmentPublic", _print_environment)


def _detach_command(isolation: str, node_id: str) -> str:
    """The command that gives a node on an interpreter its own environment again, for the
    warning about packages that interpreter lacks (the warning itself names no command)."""
    if not isolation.startswith("interpreter:"):
        return ""
    return f" (`nodepipe env detach {shlex.quote(node_id)}`)"


def _show_shared(view: SharedEnvView, as_json: bool) -> None:
    render(view, as_json, "SharedEnvPublic", _print_environment)


def _print_environment(view: EnvironmentView | SharedEnvView) -> None:
    from nodepipe.services.envs.environments import EnvironmentView

    name = view.tag if isinstance(view, EnvironmentView) else view.name
    built = view.environment_python if isinstance(view, EnvironmentView) else ""
    if (
        isinstance(view, EnvironmentView)
        and built not in ("", view.python)
        and view.python[:1].isdigit()
    ):
        command = shlex.join(["nodepipe", "env", "sync", view.node_id])
        say(
            f"[bold]{escape(name)}[/]: asks for Python {view.python}; [yellow]its environment "
            f"has {escape(built)}[/] (sync it with `{escape(command)}`)"
        )
    else:
        say(f"[bold]{escape(name)}[/]: Python {view.python}")
    if isinstance(view, EnvironmentView) and view.python_request != "default":
        say(f"  python requested: {escape(view.python_request)}")
    if isinstance(view, EnvironmentView) and view.isolation != "own":
        kind, _, where = view.isolation.partition(":")
        say(
            f"  [yellow]not isolated[/]: runs with {escape(where)} (no environment of its own)"
            if kind == "interpreter"
            else f"  uses the shared environment [bold]{escape(where)}[/] (not its own)"
        )
    table = Table(show_edge=False, header_style="bold")
    origins = view.origins if isinstance(view, EnvironmentView) else {}
    missing = set(view.not_installed) if isinstance(view, EnvironmentView) else set()
    for column in ("package", "locked", "requested as", *(("from",) if origins else ())):
        table.add_column(column)
    direct = {requirement_name(r): r for r in view.direct}
    for package, version in sorted(view.locked.items()):
        source = (origins.get(package, "") if package in direct else "",) if origins else ()
        shown = "not installed under the interpreter" if package in missing else version
        table.add_row(package, shown, direct.get(package, "(dependency)"), *source)
    console.print(table)
    if isinstance(view, EnvironmentView):
        for warning in view.warnings:
            print_warning(warning + _detach_command(view.isolation, view.node_id))
        for folder in view.code_paths:
            say(f"  code path {escape(folder)} (on the import path, fingerprinted)")
        for name, origin in view.snapshots.items():
            say(
                f"  snapshot [bold]{escape(name)}[/] in code/snapshots/{escape(name)} "
                f"(from {escape(origin)})"
            )
        for package, where in view.shared.items():
            say(
                f"  [yellow]shared checkout[/] {escape(package)} → {escape(where)} "
                "(editable, not copied: less reproducible)"
            )


@env.command("add")
@click.argument("node")
@names_argument("packages", required=False)
@click.option("--path", "path", metavar="DIR", help="Install a local project from DIR.")
@click.option(
    "--snapshot",
    metavar="DIR|URL",
    help="Copy (or git clone) into code/snapshots/ and install it editable.",
)
@click.option(
    "--shared",
    metavar="DIR",
    help="Editable reference to one shared checkout (convenient, less reproducible).",
)
@click.option(
    "--from-node",
    "library",
    metavar="LIB",
    help="Install the package library node LIB holds, editable; LIB's edits make NODE stale.",
)
@click.option("--package", metavar="NAME", help="With --from-node: which of LIB's packages.")
@large_option
@lookup_pipeline_option
@json_option
def add(
    node: str,
    packages: list[str] | None,
    path: str | None,
    snapshot: str | None,
    shared: str | None,
    library: str | None,
    package: str | None,
    large: bool,
    pipeline: str | None,
    as_json: bool,
) -> None:
    """Add PACKAGES (pinned, ranged or git+URL@rev) to NODE: locked and synced."""
    if library is not None:
        if packages or path or snapshot or shared:
            raise click.UsageError("--from-node takes no packages nor other source")
        view = workspace().external.add_from_node(node, library, pipeline, package)
    else:
        view = workspace().envs.add(
            node,
            packages or [],
            pipeline=pipeline,
            path=path,
            snapshot=snapshot,
            shared=shared,
            large=large,
        )
    show_environment(view, as_json)


@env.command("remove")
@click.argument("node")
@names_argument("packages")
@lookup_pipeline_option
@json_option
def remove(node: str, packages: list[str], pipeline: str | None, as_json: bool) -> None:
    """Remove PACKAGES from NODE."""
    show_environment(workspace().envs.remove(node, packages, pipeline), as_json)


@env.command("index")
@click.argument("node")
@click.argument("url", required=False)
@click.option("--name", "index", metavar="NAME", help="The index's name.")
@click.option("--default", is_flag=True, help="Use it instead of PyPI, not beside it.")
@lookup_pipeline_option
@json_option
def index(
    node: str,
    url: str | None,
    index: str | None,
    default: bool,
    pipeline: str | None,
    as_json: bool,
) -> None:
    """Make NODE take packages from the index URL too ([[tool.uv.index]]; relocked, or nothing
    changes); without URL, the workspace default ([index] url, name of nodepipe.toml).
    Credentials stay out of files: UV_INDEX_<NAME>_USERNAME/_PASSWORD, netrc, keyring."""
    show_environment(workspace().envs.add_index(node, url, index, default, pipeline), as_json)


@env.command("sync")
@click.argument("node")
@lookup_pipeline_option
@json_option
def sync(node: str, pipeline: str | None, as_json: bool) -> None:
    """Make NODE's environment match its lock (and its inline script metadata)."""
    show_environment(workspace().envs.sync(node, pipeline), as_json)


@env.command("restore")
@click.argument("node")
@click.option("--run", "run_id", required=True, help="The run whose environment to rebuild.")
@lookup_pipeline_option
@json_option
def restore(node: str, run_id: str, pipeline: str | None, as_json: bool) -> None:
    """Rebuild NODE's environment exactly as it was in run RUN.

    Writes that run's pyproject.toml, uv.lock and .python-version back and syncs from the lock
    (frozen: nothing is resolved, so a warm cache needs no network). All or nothing. The code
    and parameters stay as they are now (`nodepipe node restore` makes a new node of all of it).
    """
    show_environment(workspace().run_envs.restore(node, run_id, pipeline), as_json)


@env.command("lock")
@click.argument("node")
@click.option("--upgrade", is_flag=True, help="Take the newest versions the requirements allow.")
@lookup_pipeline_option
@json_option
def lock(node: str, upgrade: bool, pipeline: str | None, as_json: bool) -> None:
    """Re-resolve NODE's lock (then sync)."""
    show_environment(workspace().envs.lock(node, upgrade, pipeline), as_json)


@env.command("show")
@click.argument("node")
@lookup_pipeline_option
@json_option
def show(node: str, pipeline: str | None, as_json: bool) -> None:
    """Python version, direct and locked packages, snapshots and shared checkouts of NODE."""
    show_environment(workspace().envs.show(node, pipeline), as_json)


@env.command("python")
@click.argument("node")
@click.argument("version")
@lookup_pipeline_option
@json_option
def python(node: str, version: str, pipeline: str | None, as_json: bool) -> None:
    """Use an installed Python VERSION for NODE (uv's request syntax: 3.12, cpython@3.12,
    >=3.11,<3.13…); nothing is downloaded."""
    show_environment(workspace().envs.set_python(node, version, pipeline), as_json)


@env.command("import")
@click.argument("node")
@click.argument("requirements", type=click.Path(path_type=Path))
@lookup_pipeline_option
@json_option
def import_(node: str, requirements: Path, pipeline: str | None, as_json: bool) -> None:
    """Add every requirement of a requirements.txt file to NODE; or place an environment.yml
    (.yml/.yaml): its pip: section in the uv project, its conda packages in the conda part."""
    from nodepipe.services.envs.imported_files import is_environment_file

    if is_environment_file(requirements.name):
        placed = workspace().conda.import_file(node, requirements, pipeline)
        if not as_json:  # its pip: part went to the uv project: show that too
            show_environment(workspace().envs.show(placed.node_id, None), False)
        show_conda(placed, as_json)
    else:
        show_environment(
            workspace().envs.import_requirements(node, requirements, pipeline), as_json
        )


@env.command("update-snapshot")
@click.argument("node")
@click.argument("name")
@click.option(
    "--force",
    is_flag=True,
    help="Discard local edits in the snapshot; reset a clone whose upstream rewrote its history.",
)
@lookup_pipeline_option
@json_option
def update_snapshot(node: str, name: str, force: bool, pipeline: str | None, as_json: bool) -> None:
    """Refresh snapshot NAME of NODE (a clone fast-forwarded, or a new copy), relock and sync;
    NODE becomes stale. Refused while the snapshot has local edits (listed), or when a clone's
    upstream rewrote its history, unless --force (which lists what it drops)."""
    show_environment(workspace().envs.update_snapshot(node, name, pipeline, force), as_json)


@env.command("kernel")
@click.argument("node")
@lookup_pipeline_option
def kernel(node: str, pipeline: str | None) -> None:
    """Install a Jupyter kernel running NODE's environment (removed with the node)."""
    envs = workspace().envs
    folder = envs.kernel(node, pipeline)
    done(f"kernel {folder.name} installed in {folder}")
    view = envs.show(node, pipeline)
    if "ipykernel" not in view.locked:
        command = shlex.join(["nodepipe", "env", "add", view.node_id, "ipykernel"])
        done(f"it needs ipykernel in the node's environment: `{command}`")


@shared_env.command("new")
@click.argument("name")
@names_argument("packages", required=False)
@json_option
def shared_new(name: str, packages: list[str] | None, as_json: bool) -> None:
    """Create shared environment NAME (with PACKAGES)."""
    _show_shared(workspace().shared_envs.new(name, packages), as_json)


@shared_env.command("add")
@click.argument("name")
@names_argument("packages")
@json_option
def shared_add(name: str, packages: list[str], as_json: bool) -> None:
    """Add PACKAGES to shared environment NAME (every node using it becomes stale)."""
    _show_shared(workspace().shared_envs.add(name, packages), as_json)


@shared_env.command("remove")
@click.argument("name")
@names_argument("packages")
@json_option
def shared_remove(name: str, packages: list[str], as_json: bool) -> None:
    """Remove PACKAGES from shared environment NAME."""
    _show_shared(workspace().shared_envs.remove(name, packages), as_json)


@shared_env.command("show")
@click.argument("name")
@json_option
def shared_show(name: str, as_json: bool) -> None:
    """Packages of shared environment NAME."""
    _show_shared(workspace().shared_envs.show(name), as_json)


@shared_env.command("list")
@json_option
def shared_list(as_json: bool) -> None:
    """Shared environments of the workspace."""
    names = workspace().shared_envs.list()
    render(names, as_json, None, "\n".join(names) or "no shared environment yet")


@base_env.command("add")
@names_argument("packages")
@json_option
@click.pass_obj
def base_add(pipeline: str, packages: list[str], as_json: bool) -> None:
    """Give every node of the pipeline these PACKAGES (all nodes relocked, or none)."""
    workspace().base_envs.add(pipeline, packages)
    _show_base(pipeline, as_json, _print_base)


@base_env.command("remove")
@names_argument("packages")
@json_option
@click.pass_obj
def base_remove(pipeline: str, packages: list[str], as_json: bool) -> None:
    """Take PACKAGES out of the pipeline's base (and out of its nodes)."""
    workspace().base_envs.remove(pipeline, packages)
    _show_base(pipeline, as_json, _print_base)


@base_env.command("show")
@json_option
@click.pass_obj
def base_show(pipeline: str, as_json: bool) -> None:
    """The pipeline's base packages."""
    _show_base(pipeline, as_json, lambda found: _print_base(found, ""))


def _show_base(pipeline: str, as_json: bool, human: Callable[[BasePackages], object]) -> None:
    """The pipeline's base packages as it has them now, and the nodes they do not reach."""
    render(workspace().base_envs.view(pipeline), as_json, "BasePackagesPublic", human)


def _print_base(base: BasePackages, label: str = "base packages: ") -> None:
    done(label + (", ".join(base.packages) or ("none" if label else "no base packages")))
    for node in base.not_given:
        done(
            f"not given to {node.tag}: {node.reason} (nodepipe env detach {node.tag} gives it "
            "an environment of its own with them)"
        )
