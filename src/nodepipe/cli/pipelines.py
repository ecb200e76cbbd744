"""`nodepipe pipeline ...`: create, show, branch, duplicate, merge, move, lock, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from nodepipe.cli.options import JsonFlag, WithData
from nodepipe.cli.output import done, print_json
from nodepipe.cli.session import workspace
from nodepipe.cli.views import pipeline_view_json, print_pipeline, print_pipelines, print_removal
from nodepipe.domain.model import PipelineView

app = typer.Typer(help="Pipelines: graphs of nodes.", no_args_is_help=True)

ProjectOption = Annotated[
    str | None, typer.Option("--project", help="Project (default: 'default' or the source's).")
]
NameOption = Annotated[str, typer.Option("--name", help="Tag of the new pipeline.")]


def _created(view: PipelineView, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(pipeline_view_json(view))
        return
    done(f"{verb} pipeline {view.pipeline.tag} ({view.pipeline.id})")
    print_pipeline(view)


@app.command("new")
def new(
    tag: str,
    project: ProjectOption = None,
    notes: Annotated[str, typer.Option(help="Free text about the pipeline.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create an empty pipeline."""
    pipeline = workspace().pipelines.new(tag, project, notes)
    print_json(pipeline) if as_json else done(f"created pipeline {pipeline.tag} ({pipeline.id})")


@app.command("list")
def list_(
    project: Annotated[str | None, typer.Option(help="Only this project's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List pipelines."""
    ws = workspace()
    pipelines = ws.pipelines.list(project)
    if as_json:
        print_json(pipelines)
    else:
        print_pipelines(pipelines, {p.id: p.name for p in ws.projects.list()})


@app.command("show")
def show(name: str, as_json: JsonFlag = False) -> None:
    """Show a pipeline's nodes and edges (--json: the full graph)."""
    view = workspace().pipelines.show(name)
    print_json(pipeline_view_json(view)) if as_json else print_pipeline(view)


@app.command("lineage")
def lineage(
    project: Annotated[str | None, typer.Option(help="Only this project's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """How pipelines were branched, duplicated and merged from each other."""
    ws = workspace()
    links = ws.pipelines.lineage(project)
    if as_json:
        print_json(links)
        return
    tags = {p.id: p.tag for p in ws.pipelines.list()}
    for link in links:
        done(f"{tags[link.source_pipeline_id]} → {tags[link.pipeline_id]} ({link.kind})")


@app.command("rename")
def rename(name: str, new_tag: str, as_json: JsonFlag = False) -> None:
    """Rename (re-tag) a pipeline."""
    pipeline = workspace().pipelines.rename(name, new_tag)
    print_json(pipeline) if as_json else done(f"renamed pipeline to {pipeline.tag}")


@app.command("notes")
def notes(name: str, text: str, as_json: JsonFlag = False) -> None:
    """Replace a pipeline's notes."""
    pipeline = workspace().pipelines.annotate(name, text)
    print_json(pipeline) if as_json else done(f"updated the notes of {pipeline.tag}")


@app.command("branch")
def branch(
    name: str,
    from_node: Annotated[str, typer.Option("--from", help="Node where the branch starts.")],
    new_tag: NameOption,
    project: ProjectOption = None,
    as_json: JsonFlag = False,
) -> None:
    """New pipeline: upstream of --from shared by reference, --from and below copied."""
    _created(
        workspace().pipeline_copies.branch(name, from_node, new_tag, project), as_json, "branched"
    )


@app.command("duplicate")
def duplicate(
    name: str,
    new_tag: NameOption,
    with_data: WithData = False,
    project: ProjectOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Copy a pipeline (its own nodes are copied; referenced nodes stay references)."""
    view = workspace().pipeline_copies.duplicate(name, new_tag, with_data, project)
    _created(view, as_json, "duplicated into")


@app.command("merge")
def merge(
    names: Annotated[list[str], typer.Argument(help="Two or more pipelines.")],
    new_tag: NameOption,
    with_data: WithData = False,
    project: ProjectOption = None,
    as_json: JsonFlag = False,
) -> None:
    """New pipeline holding the union of several (shared nodes once)."""
    view = workspace().pipeline_copies.merge(names, new_tag, with_data, project)
    _created(view, as_json, "merged into")


@app.command("move")
def move(
    name: str,
    project: Annotated[str, typer.Option("--project", help="Destination project.")],
    as_json: JsonFlag = False,
) -> None:
    """Move a pipeline to another project."""
    pipeline = workspace().pipelines.move(name, project)
    print_json(pipeline) if as_json else done(f"moved {pipeline.tag} to project {project}")


@app.command("lock")
def lock(name: str, as_json: JsonFlag = False) -> None:
    """Make a pipeline and its own nodes read-only."""
    pipeline = workspace().pipelines.set_locked(name, True)
    print_json(pipeline) if as_json else done(f"locked {pipeline.tag}")


@app.command("unlock")
def unlock(name: str, as_json: JsonFlag = False) -> None:
    """Make a locked pipeline editable again."""
    pipeline = workspace().pipelines.set_locked(name, False)
    print_json(pipeline) if as_json else done(f"unlocked {pipeline.tag}")


@app.command("rm")
def remove(name: str, as_json: JsonFlag = False) -> None:
    """Delete a pipeline; node folders other pipelines still show are kept."""
    report = workspace().pipelines.delete(name)
    print_json(report) if as_json else print_removal(report, name)
