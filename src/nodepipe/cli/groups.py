"""`nodepipe group ...`: visual groups of nodes on a pipeline's canvas."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nodepipe.cli.options import command_group, json_option, names_argument
from nodepipe.cli.output import counted, render
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_groups

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nodepipe.services.graph.groups import AddedNode, GroupChange, Ungrouped, UngroupedNode

app = command_group("group", "Visual groups of nodes in a pipeline.")

pipeline_argument = click.argument("pipeline")
name_argument = click.argument("name")
members_argument = names_argument("nodes")


@app.command("new")
@pipeline_argument
@name_argument
@members_argument
@json_option
def new(pipeline: str, name: str, nodes: list[str], as_json: bool) -> None:
    """Group NODES (ids or tags) of PIPELINE under NAME (a node in another group is moved)."""
    change = workspace().groups.new(pipeline, name, nodes)
    render(change, as_json, "GroupChangePublic", _grouped_words(change))


def _grouped_words(change: GroupChange) -> str:
    """ "grouped 2 nodes as g (plot moved from h)": each node counted once."""
    return f"grouped {counted(len(change.added), 'node')} as {change.group.name}{_moves(change)}"


def _moves(change: GroupChange) -> str:
    """ " (plot moved from h)" for the nodes the change took from another group, else ""."""
    moved = [f"{n.tag} moved from {n.moved_from}" for n in change.added if n.moved_from]
    return f" ({', '.join(moved)})" if moved else ""


@app.command("list")
@pipeline_argument
@json_option
def list_(pipeline: str, as_json: bool) -> None:
    """List the groups of PIPELINE."""
    groups = workspace().groups.list(pipeline)
    render(groups, as_json, "GroupPublic", print_groups)


@app.command("add")
@pipeline_argument
@name_argument
@members_argument
@json_option
def add(pipeline: str, name: str, nodes: list[str], as_json: bool) -> None:
    """Add NODES (ids or tags) of PIPELINE to group NAME (a node in another group is moved)."""
    change = workspace().groups.add(pipeline, name, nodes)
    render(change, as_json, "GroupChangePublic", _added_words(change))


def _added_words(change: GroupChange) -> str:
    """ "added 2 nodes to g (plot moved from h); load was already in g": only the nodes put
    in the group are counted."""
    said = []
    name = change.group.name
    if change.added:
        said.append(f"added {counted(len(change.added), 'node')} to {name}{_moves(change)}")
    if change.already_in:
        said.append(_were(change.already_in, f"already in {name}"))
    return "; ".join(said)


@app.command("ungroup")
@pipeline_argument
@members_argument
@json_option
def ungroup(pipeline: str, nodes: list[str], as_json: bool) -> None:
    """Take NODES (ids or tags) of PIPELINE out of their group."""
    answer = workspace().groups.ungroup(pipeline, nodes)
    render(answer, as_json, "UngroupedPublic", _ungrouped_words(answer))


def _ungrouped_words(answer: Ungrouped) -> str:
    """ "ungrouped 1 node; plot was in no group": only the nodes taken out are counted."""
    said = []
    if answer.ungrouped:
        said.append(f"ungrouped {counted(len(answer.ungrouped), 'node')}")
    if answer.in_no_group:
        said.append(_were(answer.in_no_group, "in no group"))
    return "; ".join(said)


def _were(nodes: Sequence[AddedNode | UngroupedNode], where: str) -> str:
    """ "load, clean were in no group": the nodes' tags, then where they were."""
    tags = ", ".join(node.tag for node in nodes)
    return f"{tags} {'was' if len(nodes) == 1 else 'were'} {where}"


@app.command("rename")
@pipeline_argument
@name_argument
@click.argument("new_name")
@json_option
def rename(pipeline: str, name: str, new_name: str, as_json: bool) -> None:
    """Rename group NAME of PIPELINE to NEW_NAME."""
    change = workspace().groups.update(pipeline, name, new_name=new_name)
    render(change, as_json, "GroupChangePublic", f"renamed group to {change.name}")


@app.command("collapse")
@pipeline_argument
@name_argument
@json_option
def collapse(pipeline: str, name: str, as_json: bool) -> None:
    """Collapse group NAME on PIPELINE's canvas."""
    change = workspace().groups.update(pipeline, name, collapsed=True)
    render(change, as_json, "GroupChangePublic", f"collapsed {change.name}")


@app.command("expand")
@pipeline_argument
@name_argument
@json_option
def expand(pipeline: str, name: str, as_json: bool) -> None:
    """Expand collapsed group NAME on PIPELINE's canvas."""
    change = workspace().groups.update(pipeline, name, collapsed=False)
    render(change, as_json, "GroupChangePublic", f"expanded {change.name}")


@app.command("rm")
@pipeline_argument
@name_argument
@json_option
def remove(pipeline: str, name: str, as_json: bool) -> None:
    """Delete group NAME of PIPELINE (its nodes stay)."""
    group = workspace().groups.delete(pipeline, name)
    render(group, as_json, "GroupPublic", f"deleted group {group.name}")
