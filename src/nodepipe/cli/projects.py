"""`nodepipe project ...`: create, list, show, rename, set notes, delete projects."""

from __future__ import annotations

import click
from rich.markup import escape

from nodepipe.cli.options import command_group, json_option
from nodepipe.cli.output import render, say
from nodepipe.cli.session import workspace
from nodepipe.cli.views import print_pipelines, print_projects
from nodepipe.domain.model import ProjectView

app = command_group("project", "Projects: named groups of pipelines.")


@app.command("new")
@click.argument("name")
@click.option("--notes", default="", help="Free text about the project.")
@json_option
def new(name: str, notes: str, as_json: bool) -> None:
    """Create a project called NAME."""
    project = workspace().projects.new(name, notes)
    render(project, as_json, "ProjectPublic", f"created project {project.name} ({project.id})")


@app.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List projects."""
    projects = workspace().projects.list()
    render(projects, as_json, "ProjectPublic", print_projects)


@app.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show project NAME (or id), its pipelines and how they came from each other."""
    render(workspace().projects.show(name), as_json, "ProjectDetail", _print_project)


def _print_project(view: ProjectView) -> None:
    project = view.project
    say(f"[bold]{escape(project.name)}[/] ({project.id}) {escape(project.notes)}")
    print_pipelines(view.pipelines, {project.id: project.name})


@app.command("rename")
@click.argument("name")
@click.argument("new_name")
@json_option
def rename(name: str, new_name: str, as_json: bool) -> None:
    """Rename project NAME to NEW_NAME."""
    project = workspace().projects.rename(name, new_name)
    render(project, as_json, "ProjectPublic", f"renamed project to {project.name}")


@app.command("notes")
@click.argument("name")
@click.argument("text")
@json_option
def notes(name: str, text: str, as_json: bool) -> None:
    """Replace the notes of project NAME with TEXT."""
    project = workspace().projects.notes(name, text)
    render(project, as_json, "ProjectPublic", f"updated the notes of {project.name}")


@app.command("rm")
@click.argument("name")
@json_option
def remove(name: str, as_json: bool) -> None:
    """Delete project NAME; it must hold no pipelines."""
    project = workspace().projects.delete(name)
    render(project, as_json, "ProjectPublic", f"deleted project {project.name}")
