"""`nodepipe node ...`: create, inspect, edit, copy, reference, detach and remove nodes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from nodepipe.cli.confirm import confirm_losses, yes_option
from nodepipe.cli.options import (
    command_group,
    json_option,
    lookup_pipeline_option,
    names_argument,
    pipeline_option,
    repeatable_option,
    with_data_option,
)
from nodepipe.cli.output import done, print_warning, render
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_node, print_nodes, print_removal, print_replacement
from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.domain.states import NodeState

PARAMS_REWRITTEN = "params.yaml was written anew, without its comments and layout: "
"""Said when ``node params --set/--unset`` could not keep the file's comments, then why."""

app = command_group("node", "Nodes: folders with code, an environment and outputs.")

node_argument = click.argument("node")
nodes_argument = names_argument("nodes")
allow_duplicate_tag_option = click.option(
    "--allow-duplicate-tag",
    is_flag=True,
    help="Accept a tag another node of the pipeline already has.",
)


@app.command("new")
@click.argument("pipeline")
@click.option("--tag", "-t", required=True, help="Human name of the node.")
@click.option("--notes", default="", help="Free text about the node.")
@click.option(
    "--template",
    metavar="NODE",
    help=(
        "Seed it from NODE (of PIPELINE first, else any): code and lock copied, synced, "
        "nothing re-resolved."
    ),
)
@click.option(
    "--shared-env",
    metavar="NAME",
    help="Use the shared environment NAME instead of an environment of its own.",
)
@allow_duplicate_tag_option
@json_option
def new(
    pipeline: str,
    tag: str,
    notes: str,
    template: str | None,
    shared_env: str | None,
    allow_duplicate_tag: bool,
    as_json: bool,
) -> None:
    """Create a node in PIPELINE, with its own uv environment."""
    node = workspace().nodes.new(
        pipeline,
        tag,
        notes,
        template=template,
        shared_env=shared_env,
        allow_duplicate_tag=allow_duplicate_tag,
    )
    render(node, as_json, "NodePublic", f"created node {node.tag} ({node.id})")


@app.command("restore")
@node_argument
@click.option("--run", "run_id", required=True, help="The run to take code and environment from.")
@click.option("--as", "tag", required=True, help="Tag of the new node.")
@lookup_pipeline_option
@json_option
def restore(node: str, run_id: str, tag: str, pipeline: str | None, as_json: bool) -> None:
    """A new node with NODE's code, parameters and environment as they were in run RUN.

    It goes into NODE's pipeline (or --pipeline) with the parents that run read, on the same
    slots; its environment is synced from that run's lock (frozen). NODE is not touched.
    """
    restored = workspace().nodes.restore(node, run_id, tag, pipeline)
    created = restored.node
    message = f"created node {created.tag} ({created.id}) from run {restored.run_id}"
    for slot, parent in sorted(restored.missing_parents.items()):
        message += f"\n  input {slot} not connected: its parent {parent} no longer exists"
    render(created, as_json, "NodePublic", message)


@app.command("list")
@click.option("--pipeline", "-p", metavar="PIPELINE", help="Only the nodes this pipeline shows.")
@json_option
def list_(pipeline: str | None, as_json: bool) -> None:
    """List nodes (of one pipeline with --pipeline)."""
    nodes = workspace().nodes.list(pipeline)
    render(nodes, as_json, "NodePublic", print_nodes)


@app.command("show")
@node_argument
@lookup_pipeline_option
@json_option
def show(node: str, pipeline: str | None, as_json: bool) -> None:
    """Show a node: state and why, folder, inputs, outputs, params."""
    details = workspace().nodes.show(node, pipeline)
    render(details, as_json, "NodeDetail", print_node)


@app.command("path")
@node_argument
@lookup_pipeline_option
@click.option(
    "--import-path",
    is_flag=True,
    help="Print instead the PYTHONPATH a run gives NODE (the helper nodepipe_node first).",
)
def path(node: str, pipeline: str | None, import_path: bool) -> None:
    """Print NODE's folder (to open it in an editor).

    For instance: cd "$(nodepipe node path NODE)". To run its code by hand as a run would
    import it: PYTHONPATH="$(nodepipe node path NODE --import-path)" .venv/bin/python main.py
    """
    if import_path:
        print(os.pathsep.join(workspace().nodes.import_path(node, pipeline)))
        return
    print(workspace().nodes.path(node, pipeline))


@app.command("rename")
@node_argument
@click.argument("new_tag")
@lookup_pipeline_option
@allow_duplicate_tag_option
@json_option
def rename(
    node: str, new_tag: str, pipeline: str | None, allow_duplicate_tag: bool, as_json: bool
) -> None:
    """Change NODE's tag to NEW_TAG."""
    renamed = workspace().nodes.rename(node, new_tag, pipeline, allow_duplicate_tag)
    render(renamed, as_json, "NodePublic", f"renamed {renamed.id} to {renamed.tag}")


@app.command("notes")
@node_argument
@click.argument("text")
@lookup_pipeline_option
@json_option
def notes(node: str, text: str, pipeline: str | None, as_json: bool) -> None:
    """Replace NODE's notes with TEXT."""
    updated = workspace().nodes.notes(node, text, pipeline)
    render(updated, as_json, "NodePublic", f"updated the notes of {updated.tag}")


@app.command("params")
@node_argument
@repeatable_option(
    "--set", "set_", metavar="NAME=VALUE", help="Set a parameter (VALUE is YAML). Repeatable."
)
@repeatable_option("--unset", metavar="NAME", help="Remove a parameter. Repeatable.")
@click.option(
    "--file",
    "from_file",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Replace all parameters with this YAML file ('-': stdin).",
)
@lookup_pipeline_option
@json_option
def params(
    node: str,
    set_: list[str] | None,
    unset: list[str] | None,
    from_file: Path | None,
    pipeline: str | None,
    as_json: bool,
) -> None:
    """Show NODE's parameters (params.yaml), or change them.

    Changes are validated before anything is written; if a value really changed, the node and
    its descendants become stale.
    """
    from nodepipe.domain.params import dump_params  # PyYAML

    nodes = workspace().nodes
    if set_ or unset or from_file:
        replacement = None if from_file is None else _read_text(from_file)
        change = nodes.edit_params(node, set_, unset, replacement, pipeline)
        if change.rewritten:
            print_warning(PARAMS_REWRITTEN + change.why)
        result = change.params
    else:
        result = nodes.params(node, pipeline)
    render(result, as_json, "ParamsPublic", lambda params: print(dump_params(params), end=""))


def _read_text(source: Path) -> str:
    if str(source) == "-":
        return sys.stdin.read()
    from nodepipe.services.graph.node_params import read_params_file

    return read_params_file(source)


@app.command("mark")
@node_argument
@click.argument("state", metavar="{completed|stale}")
@lookup_pipeline_option
@json_option
def mark(node: str, state: str, pipeline: str | None, as_json: bool) -> None:
    """Mark NODE completed or stale by hand.

    completed accepts the node's outputs as they are; stale makes the next run run it again.
    """
    if state not in (NodeState.COMPLETED.value, NodeState.STALE.value):
        raise InvalidInputError(f"can mark a node completed or stale, not {state!r}")
    updated = workspace().nodes.mark(node, NodeState(state), pipeline)
    why = f" ({updated.state_reason})" if updated.state.value != state else ""
    render(updated, as_json, "NodePublic", f"{updated.tag} is now {updated.state.value}{why}")


@app.command("lock")
@node_argument
@lookup_pipeline_option
@json_option
def lock(node: str, pipeline: str | None, as_json: bool) -> None:
    """Make NODE read-only (no edit, run or delete)."""
    updated = workspace().nodes.lock(node, pipeline)
    render(updated, as_json, "NodePublic", f"locked {updated.tag} ({updated.id})")


@app.command("unlock")
@node_argument
@lookup_pipeline_option
@json_option
def unlock(node: str, pipeline: str | None, as_json: bool) -> None:
    """Make locked NODE editable again."""
    updated = workspace().nodes.unlock(node, pipeline)
    render(updated, as_json, "NodePublic", f"unlocked {updated.tag} ({updated.id})")


@app.command("clear-data")
@node_argument
@lookup_pipeline_option
@yes_option
@json_option
def clear_data(node: str, pipeline: str | None, yes: bool, as_json: bool) -> None:
    """Delete NODE's outputs (data/); its descendants become stale.

    Asks first, naming what goes (--yes: do not ask).
    """
    nodes = workspace().nodes
    confirm_losses("node clear-data", nodes.clearing_losses(node, pipeline), yes)
    updated = nodes.clear_data(node, pipeline)
    render(updated, as_json, "NodePublic", f"cleared the outputs of {updated.tag}")


@app.command("place")
@node_argument
@pipeline_option
@click.option("--x", "x", type=float, required=True, help="Horizontal position on the canvas.")
@click.option("--y", "y", type=float, required=True, help="Vertical position on the canvas.")
@json_option
def place(node: str, pipeline: str, x: float, y: float, as_json: bool) -> None:
    """Move NODE on a pipeline's canvas (the web editor's graph).

    With --json: the node as `pipeline show --json` (and the API's pipeline) lists it."""
    ws = workspace()
    membership = ws.nodes.place(node, pipeline, x, y)
    if not as_json:
        done(f"placed at ({membership.x}, {membership.y})")
        return
    render(ws.pipelines.show(pipeline).find(membership.node_id), as_json, "CanvasNode", "")


@app.command("duplicate")
@nodes_argument
@pipeline_option
@click.option("--into", metavar="PIPELINE", help="Pipeline to copy into (default: the same one).")
@click.option("--tag", "-t", "tag", metavar="TAG", help="Tag of the copy (of one node).")
@with_data_option
@allow_duplicate_tag_option
@json_option
def duplicate(
    nodes: list[str],
    pipeline: str,
    into: str | None,
    tag: str | None,
    with_data: bool,
    allow_duplicate_tag: bool,
    as_json: bool,
) -> None:
    """Copy NODES: code, lock and synced environment; without outputs unless --with-data.

    Edges among them and from outside parents are kept (same parents, same slots). The copies
    go to the same pipeline, or to --into. A copy whose tag the pipeline already has is
    tagged TAG-copy, unless --tag names it (or --allow-duplicate-tag keeps the tag).
    """
    copies = workspace().node_copies.duplicate(
        nodes, pipeline, into, with_data, tag=tag, allow_duplicate_tag=allow_duplicate_tag
    )
    render(copies, as_json, "NodePublic", _print_duplicates)


def _print_duplicates(copies: list[Node]) -> None:
    for copy in copies:
        done(f"created {copy.tag} ({copy.id}), a copy")


@app.command("reference")
@nodes_argument
@click.option("--into", metavar="PIPELINE", required=True, help="Pipeline that will show them.")
@lookup_pipeline_option
@allow_duplicate_tag_option
@json_option
def reference(
    nodes: list[str], into: str, pipeline: str | None, allow_duplicate_tag: bool, as_json: bool
) -> None:
    """Show NODES in another pipeline, shared and read-only there.

    Their ancestors are shown there too. A reference keeps the node's tag (it has no alias):
    one whose tag the pipeline already has is refused unless --allow-duplicate-tag.
    """
    added = workspace().node_copies.reference(
        nodes, into, pipeline, allow_duplicate_tag=allow_duplicate_tag
    )
    render(added, as_json, None, f"{into} now shows {', '.join(added)}")


@app.command("detach")
@nodes_argument
@pipeline_option
@click.option("--without-data/--no-without-data", help="Do not copy the outputs.")
@json_option
def detach(nodes: list[str], pipeline: str, without_data: bool, as_json: bool) -> None:
    """Replace referenced NODES with private copies.

    Referenced nodes below them are copied too; outputs are copied unless --without-data.
    """
    copies = workspace().node_copies.detach(nodes, pipeline, with_data=not without_data)
    render(copies, as_json, "NodePublic", lambda made: _print_detached(made, pipeline))


def _print_detached(copies: list[Node], pipeline: str) -> None:
    for copy in copies:
        done(f"{pipeline} now has its own {copy.tag} ({copy.id})")


@app.command("replace")
@click.argument("old")
@click.argument("new")
@pipeline_option
@click.option("--keep", is_flag=True, help="Keep OLD in the pipeline (without children).")
@yes_option
@json_option
def replace(old: str, new: str, pipeline: str, keep: bool, yes: bool, as_json: bool) -> None:
    """Swap NEW in for OLD: OLD's children read NEW on the same slots.

    The children become stale ("input 01 now reads NEW"). OLD is removed from the pipeline
    (its folder deleted when no other pipeline shows it; asks first, --yes: do not ask), or
    kept with --keep. The last step of: node duplicate OLD --tag NEW, update, run, replace.
    """
    ws = workspace()
    if not keep:
        confirm_losses("node replace", ws.node_copies.replacement_losses(old, new, pipeline), yes)
    replaced = ws.node_copies.replace(old, new, pipeline, keep)
    render(replaced, as_json, "ReplacementPublic", print_replacement)


@app.command("rm")
@nodes_argument
@pipeline_option
@yes_option
@json_option
def remove(nodes: list[str], pipeline: str, yes: bool, as_json: bool) -> None:
    """Remove NODES from a pipeline.

    A node's folder is deleted only when no other pipeline shows it; nodepipe asks first,
    naming those folders and the outputs in them (--yes: do not ask).
    """
    service = workspace().nodes
    confirm_losses("node rm", service.deletion_losses(nodes, pipeline), yes)
    report = service.delete(nodes, pipeline)
    render(report, as_json, "RemovalPublic", lambda removal: print_removal(removal, pipeline))
