"""`nodepipe env conda ...`: a node's conda packages (the optional ``nodepipe[conda]`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from nodepipe.cli.options import command_group, json_option, lookup_pipeline_option, names_argument
from nodepipe.cli.output import console, render, say
from nodepipe.cli.session import workspace

if TYPE_CHECKING:
    from nodepipe.services.envs.conda import CondaView

conda = command_group(
    "conda", "A node's conda packages (non-Python tools such as ffmpeg), in code/.conda."
)


def show_conda(view: CondaView, as_json: bool) -> None:
    render(view, as_json, "CondaEnvironmentPublic", _print_conda)


def _print_conda(view: CondaView) -> None:
    if not view.specs and not view.locked:
        say(f"[bold]{escape(view.tag)}[/]: no conda part (no conda packages asked for or locked)")
        _print_unplaced(view)
        return
    state = "installed" if view.installed else "[yellow]not installed yet[/] (synced at next run)"
    say(f"[bold]{escape(view.tag)}[/]: conda packages {state}")
    say("  channels: " + escape(", ".join(view.channels)))
    table = Table(show_edge=False, header_style="bold")
    for column in ("package", "locked", "requested as"):
        table.add_column(column)
    from nodepipe.domain.environment_file import conda_spec_name

    requested = {conda_spec_name(spec): spec for spec in view.specs}
    for package, version in view.locked.items():
        table.add_row(package, version, requested.get(package, "(dependency)"))
    console.print(table)
    _print_unplaced(view)


def _print_unplaced(view: CondaView) -> None:
    """What an import could not place, and (for a Python) the command that sets it."""
    from nodepipe.cli.hints import command_for

    for entry in view.unplaced:
        say(f"  [yellow]not placed:[/] {escape(entry)}")
    if view.hint is not None:
        say(f"  {escape(command_for(view.hint))}")


@conda.command("add")
@click.argument("node")
@names_argument("specs")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    metavar="C",
    help="Solve from channel C (a name, URL or folder); repeatable. Default: the workspace's.",
)
@lookup_pipeline_option
@json_option
def add(
    node: str, specs: list[str], channels: tuple[str, ...], pipeline: str | None, as_json: bool
) -> None:
    """Add conda SPECS (`ffmpeg`, `ffmpeg 6.1.*`) to NODE: solved, locked, installed."""
    show_conda(workspace().conda.add(node, specs, list(channels), pipeline), as_json)


@conda.command("remove")
@click.argument("node")
@names_argument("packages")
@lookup_pipeline_option
@json_option
def remove(node: str, packages: list[str], pipeline: str | None, as_json: bool) -> None:
    """Remove conda PACKAGES from NODE (relocked; the prefix goes with the last one)."""
    show_conda(workspace().conda.remove(node, packages, pipeline), as_json)


@conda.command("lock")
@click.argument("node")
@click.option("--upgrade", is_flag=True, help="Take the newest versions the specs allow.")
@lookup_pipeline_option
@json_option
def lock(node: str, upgrade: bool, pipeline: str | None, as_json: bool) -> None:
    """Solve NODE's conda specs again into code/conda.lock (and install)."""
    show_conda(workspace().conda.lock(node, upgrade, pipeline), as_json)


@conda.command("show")
@click.argument("node")
@lookup_pipeline_option
@json_option
def show(node: str, pipeline: str | None, as_json: bool) -> None:
    """NODE's conda specs, channels and locked packages."""
    show_conda(workspace().conda.show(node, pipeline), as_json)
