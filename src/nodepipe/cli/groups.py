"""`nodepipe group ...`: visual groups of nodes on a pipeline's canvas."""

from __future__ import annotations

from typing import Annotated

import typer

from nodepipe.cli.options import JsonFlag
from nodepipe.cli.output import done, print_json
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_groups

app = typer.Typer(help="Visual groups of nodes in a pipeline.", no_args_is_help=True)

Members = Annotated[list[str], typer.Argument(help="Node ids or tags.")]


@app.command("new")
def new(pipeline: str, name: str, nodes: Members, as_json: JsonFlag = False) -> None:
    """Group nodes of a pipeline under a name."""
    group = workspace().groups.new(pipeline, name, nodes)
    print_json(group) if as_json else done(f"grouped {len(nodes)} node(s) as {group.name}")


@app.command("list")
def list_(pipeline: str, as_json: JsonFlag = False) -> None:
    """List a pipeline's groups."""
    groups = workspace().groups.list(pipeline)
    print_json(groups) if as_json else print_groups(groups)


@app.command("add")
def add(pipeline: str, name: str, nodes: Members, as_json: JsonFlag = False) -> None:
    """Add nodes to a group."""
    group = workspace().groups.add(pipeline, name, nodes)
    print_json(group) if as_json else done(f"added {len(nodes)} node(s) to {group.name}")


@app.command("ungroup")
def ungroup(pipeline: str, nodes: Members) -> None:
    """Take nodes out of their group."""
    workspace().groups.ungroup(pipeline, nodes)
    done(f"ungrouped {len(nodes)} node(s)")


@app.command("rename")
def rename(pipeline: str, name: str, new_name: str, as_json: JsonFlag = False) -> None:
    """Rename a group."""
    group = workspace().groups.rename(pipeline, name, new_name)
    print_json(group) if as_json else done(f"renamed group to {group.name}")


@app.command("collapse")
def collapse(pipeline: str, name: str, as_json: JsonFlag = False) -> None:
    """Collapse a group on the canvas."""
    group = workspace().groups.set_collapsed(pipeline, name, True)
    print_json(group) if as_json else done(f"collapsed {group.name}")


@app.command("expand")
def expand(pipeline: str, name: str, as_json: JsonFlag = False) -> None:
    """Expand a collapsed group."""
    group = workspace().groups.set_collapsed(pipeline, name, False)
    print_json(group) if as_json else done(f"expanded {group.name}")


@app.command("rm")
def remove(pipeline: str, name: str, as_json: JsonFlag = False) -> None:
    """Delete a group (its nodes stay)."""
    group = workspace().groups.delete(pipeline, name)
    print_json(group) if as_json else done(f"deleted group {group.name}")
