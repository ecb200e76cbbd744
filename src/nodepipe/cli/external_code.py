"""`nodepipe env code-path ...`: folders outside a node that it imports from."""

from __future__ import annotations

import click

from nodepipe.cli.envs import env, show_environment
from nodepipe.cli.options import command_group, json_option, large_option, lookup_pipeline_option
from nodepipe.cli.session import workspace

code_path = command_group(
    "code-path", "Folders outside a node put on its import path (and in its fingerprint)."
)
env.add_command(code_path)


@code_path.command("add")
@click.argument("node")
@click.argument("directory")
@large_option
@lookup_pipeline_option
@json_option
def code_path_add(
    node: str, directory: str, large: bool, pipeline: str | None, as_json: bool
) -> None:
    """Put DIRECTORY on NODE's import path at launch; an edit there makes NODE stale."""
    external = workspace().external
    show_environment(external.code_path_add(node, directory, pipeline, large), as_json)


@code_path.command("remove")
@click.argument("node")
@click.argument("directory")
@lookup_pipeline_option
@json_option
def code_path_remove(node: str, directory: str, pipeline: str | None, as_json: bool) -> None:
    """Take DIRECTORY off NODE's import path."""
    show_environment(workspace().external.code_path_remove(node, directory, pipeline), as_json)
