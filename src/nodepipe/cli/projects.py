"""`nodepipe project ...`: create, list, show, rename, annotate, delete projects."""

from __future__ import annotations

from typing import Annotated

import typer

from nodepipe.cli.options import JsonFlag
from nodepipe.cli.output import done, print_json
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_pipelines, print_projects

app = typer.Typer(help="Projects: named groups of pipelines.", no_args_is_help=True)


@app.command("new")
def new(
    name: str,
    notes: Annotated[str, typer.Option(help="Free text about the project.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create a project."""
    project = workspace().projects.new(name, notes)
    print_json(project) if as_json else done(f"created project {project.name} ({project.id})")


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """List projects."""
    projects = workspace().projects.list()
    print_json(projects) if as_json else print_projects(projects)


@app.command("show")
def show(name: str, as_json: JsonFlag = False) -> None:
    """Show a project and its pipelines."""
    ws = workspace()
    project = ws.projects.get(name)
    pipelines = ws.projects.pipelines(project.id)
    if as_json:
        print_json({"project": project, "pipelines": pipelines})
        return
    done(f"[bold]{project.name}[/] ({project.id}) {project.notes}")
    print_pipelines(pipelines, {project.id: project.name})


@app.command("rename")
def rename(name: str, new_name: str, as_json: JsonFlag = False) -> None:
    """Rename a project."""
    project = workspace().projects.rename(name, new_name)
    print_json(project) if as_json else done(f"renamed project to {project.name}")


@app.command("notes")
def notes(name: str, text: str, as_json: JsonFlag = False) -> None:
    """Replace a project's notes."""
    project = workspace().projects.annotate(name, text)
    print_json(project) if as_json else done(f"updated the notes of {project.name}")


@app.command("rm")
def remove(name: str, as_json: JsonFlag = False) -> None:
    """Delete an empty project."""
    project = workspace().projects.delete(name)
    print_json(project) if as_json else done(f"deleted project {project.name}")
