"""`nodepipe node ...`: create, inspect, edit, copy, reference, detach and remove nodes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nodepipe.cli.options import JsonFlag, OptionalPipeline, PipelineOption, WithData
from nodepipe.cli.output import done, print_json
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_node, print_nodes, print_removal
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.params import dump_params
from nodepipe.domain.states import NodeState

app = typer.Typer(
    help="Nodes: folders with code, an environment and outputs.", no_args_is_help=True
)

NodesArgument = Annotated[list[str], typer.Argument(help="Node ids or tags.")]


@app.command("new")
def new(
    pipeline: Annotated[str, typer.Argument(help="Pipeline the node belongs to.")],
    tag: Annotated[str, typer.Option("--tag", "-t", help="Human name of the node.")],
    notes: Annotated[str, typer.Option(help="Free text about the node.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create a node folder with its own uv environment."""
    node = workspace().nodes.new(pipeline, tag, notes)
    print_json(node) if as_json else done(f"created node {node.tag} ({node.id})")


@app.command("list")
def list_(
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List nodes (of one pipeline with --pipeline)."""
    nodes = workspace().nodes.list(pipeline)
    print_json(nodes) if as_json else print_nodes(nodes)


@app.command("show")
def show(node: str, pipeline: OptionalPipeline = None, as_json: JsonFlag = False) -> None:
    """Show a node: state and why, folder, inputs, outputs, parameters."""
    details = workspace().nodes.show(node, pipeline)
    print_json(details) if as_json else print_node(details)


@app.command("path")
def path(node: str, pipeline: OptionalPipeline = None) -> None:
    """Print the node's folder (to open in an editor)."""
    print(workspace().nodes.path(node, pipeline))


@app.command("rename")
def rename(
    node: str, new_tag: str, pipeline: OptionalPipeline = None, as_json: JsonFlag = False
) -> None:
    """Change a node's tag."""
    renamed = workspace().nodes.rename(node, new_tag, pipeline)
    print_json(renamed) if as_json else done(f"renamed {renamed.id} to {renamed.tag}")


@app.command("notes")
def notes(
    node: str, text: str, pipeline: OptionalPipeline = None, as_json: JsonFlag = False
) -> None:
    """Replace a node's notes."""
    updated = workspace().nodes.annotate(node, text, pipeline)
    print_json(updated) if as_json else done(f"updated the notes of {updated.tag}")


@app.command("params")
def params(
    node: str,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="name=value (YAML value).")
    ] = None,
    unset: Annotated[list[str] | None, typer.Option("--unset", help="Remove a parameter.")] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--file", help="Replace all parameters with this YAML ('-': stdin)."),
    ] = None,
    pipeline: OptionalPipeline = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the node's parameters, or change them (validated before anything is written)."""
    nodes = workspace().nodes
    if set_ or unset or from_file:
        replacement = None
        if from_file is not None:
            replacement = _read_text(from_file)
        result = nodes.set_params(node, set_, unset, replacement, pipeline)
    else:
        result = nodes.params(node, pipeline)
    print_json(result) if as_json else print(dump_params(result), end="")


def _read_text(source: Path) -> str:
    if str(source) == "-":
        return sys.stdin.read()
    try:
        return source.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {source}: {exc.strerror}") from exc


@app.command("mark")
def mark(
    node: str,
    state: Annotated[str, typer.Argument(help="completed (accept outputs) or stale.")],
    pipeline: OptionalPipeline = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark a node completed or stale by hand."""
    if state not in (NodeState.COMPLETED.value, NodeState.STALE.value):
        raise InvalidInputError(f"can mark a node completed or stale, not {state!r}")
    updated = workspace().nodes.mark(node, NodeState(state), pipeline)
    print_json(updated) if as_json else done(f"{updated.tag} is now {updated.state.value}")


@app.command("lock")
def lock(node: str, pipeline: OptionalPipeline = None, as_json: JsonFlag = False) -> None:
    """Make a node read-only (no edit, run or delete)."""
    updated = workspace().nodes.set_locked(node, True, pipeline)
    print_json(updated) if as_json else done(f"locked {updated.tag} ({updated.id})")


@app.command("unlock")
def unlock(node: str, pipeline: OptionalPipeline = None, as_json: JsonFlag = False) -> None:
    """Make a locked node editable again."""
    updated = workspace().nodes.set_locked(node, False, pipeline)
    print_json(updated) if as_json else done(f"unlocked {updated.tag} ({updated.id})")


@app.command("clear-data")
def clear_data(node: str, pipeline: OptionalPipeline = None, as_json: JsonFlag = False) -> None:
    """Delete a node's outputs (data/); its descendants become stale."""
    updated = workspace().nodes.clear_data(node, pipeline)
    print_json(updated) if as_json else done(f"cleared the outputs of {updated.tag}")


@app.command("place")
def place(
    node: str,
    pipeline: PipelineOption,
    x: Annotated[float, typer.Option()],
    y: Annotated[float, typer.Option()],
    as_json: JsonFlag = False,
) -> None:
    """Move a node on a pipeline's canvas."""
    membership = workspace().nodes.place(node, pipeline, x, y)
    print_json(membership) if as_json else done(f"placed at ({membership.x}, {membership.y})")


@app.command("duplicate")
def duplicate(
    nodes: NodesArgument,
    pipeline: PipelineOption,
    into: Annotated[str | None, typer.Option(help="Pipeline to copy into (default: same).")] = None,
    with_data: WithData = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy nodes (code, lock, synced env), keeping edges among them and outside parents."""
    copies = workspace().node_copies.duplicate(nodes, pipeline, into, with_data)
    if as_json:
        print_json(copies)
        return
    for copy in copies:
        done(f"created {copy.tag} ({copy.id}), a copy")


@app.command("reference")
def reference(
    nodes: NodesArgument,
    into: Annotated[str, typer.Option(help="Pipeline that will show them.")],
    pipeline: OptionalPipeline = None,
    as_json: JsonFlag = False,
) -> None:
    """Show nodes in another pipeline, shared and read-only there (with their ancestors)."""
    added = workspace().node_copies.reference(nodes, into, pipeline)
    print_json(added) if as_json else done(f"{into} now shows {', '.join(added)}")


@app.command("detach")
def detach(
    nodes: NodesArgument,
    pipeline: PipelineOption,
    without_data: Annotated[bool, typer.Option(help="Do not copy the outputs.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Replace referenced nodes (and referenced nodes below) with private copies."""
    copies = workspace().node_copies.detach(nodes, pipeline, with_data=not without_data)
    if as_json:
        print_json(copies)
        return
    for copy in copies:
        done(f"{pipeline} now has its own {copy.tag} ({copy.id})")


@app.command("rm")
def remove(nodes: NodesArgument, pipeline: PipelineOption, as_json: JsonFlag = False) -> None:
    """Remove nodes from a pipeline (folders go only when no other pipeline shows them)."""
    report = workspace().nodes.remove(nodes, pipeline)
    print_json(report) if as_json else print_removal(report, pipeline)
