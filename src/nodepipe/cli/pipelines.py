"""`nodepipe pipeline ...`: create, show, branch, duplicate, merge, move, lock, delete."""

from __future__ import annotations

import click

from nodepipe.cli.confirm import confirm_losses, yes_option
from nodepipe.cli.options import command_group, json_option, names_argument, with_data_option
from nodepipe.cli.output import done, print_warning, render
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_pipeline, print_pipelines, print_removal
from nodepipe.domain.model import Lineage, PipelineView

app = command_group("pipeline", "Pipelines: graphs of nodes.")

project_option = click.option(
    "--project", help="Project of the new pipeline (default: the project of the (first) source)."
)
filter_project_option = click.option("--project", help="Only this project's pipelines.")
new_tag_option = click.option(
    "--name", "new_tag", metavar="TAG", required=True, help="Tag of the new pipeline."
)


def _created(view: PipelineView, as_json: bool, verb: str) -> None:
    render(view, as_json, "PipelineGraph", lambda made: _print_created(made, verb))


def _print_created(view: PipelineView, verb: str) -> None:
    done(f"{verb} pipeline {view.pipeline.tag} ({view.pipeline.id})")
    print_pipeline(view)


@app.command("new")
@click.argument("tag")
@click.option("--project", help="Project of the new pipeline (default: 'default').")
@click.option("--notes", default="", help="Free text about the pipeline.")
@json_option
def new(tag: str, project: str | None, notes: str, as_json: bool) -> None:
    """Create an empty pipeline tagged TAG."""
    pipeline = workspace().pipelines.new(tag, project, notes)
    render(pipeline, as_json, "PipelinePublic", f"created pipeline {pipeline.tag} ({pipeline.id})")


@app.command("list")
@filter_project_option
@json_option
def list_(project: str | None, as_json: bool) -> None:
    """List pipelines."""
    ws = workspace()
    pipelines = ws.pipelines.list(project)
    names = {p.id: p.name for p in ws.projects.list()}
    render(pipelines, as_json, "PipelinePublic", lambda found: print_pipelines(found, names))


@app.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show a pipeline's nodes and edges.

    NAME is a tag or id. --json prints the full graph: nodes with their roles and positions,
    edges, groups and lineage.
    """
    render(workspace().pipelines.show(name), as_json, "PipelineGraph", print_pipeline)


@app.command("lineage")
@filter_project_option
@json_option
def lineage(project: str | None, as_json: bool) -> None:
    """How pipelines were branched, duplicated and merged."""
    ws = workspace()
    tags = {p.id: p.tag for p in ws.pipelines.list()}

    def print_links(links: list[Lineage]) -> None:
        for link in links:
            done(f"{tags[link.source_pipeline_id]} → {tags[link.pipeline_id]} ({link.kind})")

    render(ws.pipelines.lineage(project), as_json, "LineagePublic", print_links)


@app.command("rename")
@click.argument("name")
@click.argument("new_tag")
@json_option
def rename(name: str, new_tag: str, as_json: bool) -> None:
    """Rename (re-tag) pipeline NAME to NEW_TAG."""
    pipeline = workspace().pipelines.rename(name, new_tag)
    render(pipeline, as_json, "PipelinePublic", f"renamed pipeline to {pipeline.tag}")


@app.command("notes")
@click.argument("name")
@click.argument("text")
@json_option
def notes(name: str, text: str, as_json: bool) -> None:
    """Replace the notes of pipeline NAME with TEXT."""
    pipeline = workspace().pipelines.notes(name, text)
    render(pipeline, as_json, "PipelinePublic", f"updated the notes of {pipeline.tag}")


@app.command("branch")
@click.argument("name")
@click.option(
    "--from", "from_node", metavar="NODE", required=True, help="Node where the branch starts."
)
@new_tag_option
@project_option
@json_option
def branch(name: str, from_node: str, new_tag: str, project: str | None, as_json: bool) -> None:
    """New pipeline branching off NAME at node --from.

    Upstream of --from is shared by reference; --from and everything below it is copied.
    """
    view = workspace().pipeline_copies.branch(name, from_node, new_tag, project)
    _created(view, as_json, "branched")


@app.command("duplicate")
@click.argument("name")
@new_tag_option
@with_data_option
@project_option
@json_option
def duplicate(name: str, new_tag: str, with_data: bool, project: str | None, as_json: bool) -> None:
    """Copy pipeline NAME into a new pipeline.

    Its own nodes are copied; the nodes it references stay references.
    """
    view = workspace().pipeline_copies.duplicate(name, new_tag, with_data, project)
    _created(view, as_json, "duplicated into")


@app.command("merge")
@names_argument("names")
@new_tag_option
@with_data_option
@project_option
@click.option(
    "--allow-duplicate-tag",
    is_flag=True,
    help="Keep every tag, even one two nodes of the merge have.",
)
@json_option
def merge(
    names: list[str],
    new_tag: str,
    with_data: bool,
    project: str | None,
    allow_duplicate_tag: bool,
    as_json: bool,
) -> None:
    """New pipeline holding the union of pipelines NAMES.

    Give two or more; nodes they share appear once. A node of a later pipeline whose tag is
    taken is copied as TAG-copy (each renaming is printed), unless --allow-duplicate-tag.
    The new pipeline declares the bundle inputs of all of them (a name two declare for
    different nodes is one input taken by all of them: a warning says so).
    """
    merged = workspace().pipeline_copies.merge(
        names, new_tag, with_data, project, allow_duplicate_tag=allow_duplicate_tag
    )
    _created(merged.view, as_json, "merged into")
    if not as_json:
        for renamed in merged.renamed:
            done(f"renamed {renamed} (one tag per pipeline)")
    for warning in merged.warnings:
        print_warning(warning)


@app.command("move")
@click.argument("name")
@click.option("--project", required=True, help="Destination project.")
@json_option
def move(name: str, project: str, as_json: bool) -> None:
    """Move pipeline NAME to another project."""
    pipeline = workspace().pipelines.move(name, project)
    render(pipeline, as_json, "PipelinePublic", f"moved {pipeline.tag} to project {project}")


@app.command("lock")
@click.argument("name")
@json_option
def lock(name: str, as_json: bool) -> None:
    """Make pipeline NAME and its own nodes read-only."""
    pipeline = workspace().pipelines.lock(name)
    render(pipeline, as_json, "PipelinePublic", f"locked {pipeline.tag}")


@app.command("unlock")
@click.argument("name")
@json_option
def unlock(name: str, as_json: bool) -> None:
    """Make locked pipeline NAME editable again."""
    pipeline = workspace().pipelines.unlock(name)
    render(pipeline, as_json, "PipelinePublic", f"unlocked {pipeline.tag}")


@app.command("rm")
@click.argument("name")
@yes_option
@json_option
def remove(name: str, yes: bool, as_json: bool) -> None:
    """Delete pipeline NAME.

    Node folders that other pipelines still show are kept; nodepipe asks first, naming the
    folders it deletes and their outputs (--yes: do not ask).
    """
    pipelines = workspace().pipelines
    confirm_losses("pipeline rm", pipelines.deletion_losses(name), yes)
    report = pipelines.delete(name)
    render(
        report, as_json, "RemovalPublic", lambda removal: print_removal(removal, name, whole=True)
    )
