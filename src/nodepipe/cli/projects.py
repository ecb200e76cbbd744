"""`nodepipe project ...`: create, list, show, rename, annotate, delete projects."""

from __future__ import annotations

import click
from rich.markup import escape

from nodepipe.cli.options import command_group, json_option
from nodepipe.cli.output import done, print_json, say
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_pipelines, print_projects

app = command_group("project", "Projects: named groups of pipelines.")


@app.command("new")
@click.argument("name")
@click.option("--notes", default="", help="Free text about the project.")
@json_option
def new(name: str, notes: str, as_json: bool) -> None:
    """Create a project called NAME."""
    project = workspace().projects.new(name, notes)
    print_json(project) if as_json else done(f"created project {project.name} ({project.id})")


@app.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List projects."""
    projects = workspace().projects.list()
    print_json(projects) if as_json else print_projects(projects)


@app.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show project NAME (or id) and its pipelines."""
    ws = workspace()
    project = ws.projects.get(name)
    pipelines = ws.projects.pipelines(project.id)
    if as_json:
        print_json({"project": project, "pipelines": pipelines})
        return
    say(f"[bold]{escape(project.name)}[/] ({project.id}) {escape(project.notes)}")
    print_pipelines(pipelines, {project.id: project.name})


@app.command("rename")
@click.argument("name")
@click.argument("new_name")
@json_option
def rename(name: str, new_name: str, as_json: bool) -> None:
    """Rename project NAME to NEW_NAME."""
    project = workspace().projects.rename(name, new_name)
    print_json(project) if as_json else done(f"renamed project to {project.name}")


@app.command("notes")
@click.argument("name")
@click.argument("text")
@json_option
def notes(name: str, text: str, as_json: bool) -> None:
    """Replace the notes of project NAME with TEXT."""
    project = workspace().projects.annotate(name, text)
    print_json(project) if as_json else done(f"updated the notes of {project.name}")


@app.command("rm")
@click.argument("name")
@json_option
def remove(name: str, as_json: bool) -> None:
    """Delete project NAME; it must hold no pipelines."""
    project = workspace().projects.delete(name)
    print_json(project) if as_json else done(f"deleted project {project.name}")
