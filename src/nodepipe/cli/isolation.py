"""`nodepipe env use-shared|interpreter|detach`: opting a node in and out of isolation (added
to the ``env`` group by the root command table, ``nodepipe.cli.app``)."""

from __future__ import annotations

import click

from nodepipe.cli.envs import show_environment
from nodepipe.cli.options import json_option, lookup_pipeline_option
from nodepipe.cli.session import workspace


@click.command("use-shared")
@click.argument("node")
@click.argument("name")
@lookup_pipeline_option
@json_option
def use_shared(node: str, name: str, pipeline: str | None, as_json: bool) -> None:
    """Make NODE use the shared environment NAME instead of its own (it becomes stale).

    Undo with `nodepipe env detach NODE`.
    """
    show_environment(workspace().isolation.use_shared(node, name, pipeline), as_json)


@click.command("interpreter")
@click.argument("node")
@click.argument("path")
@lookup_pipeline_option
@json_option
def interpreter(node: str, path: str, pipeline: str | None, as_json: bool) -> None:
    """Run NODE with the existing interpreter PATH (the system's, an image's): not isolated.

    NODE keeps no environment of its own; its pyproject and lock stay for
    `nodepipe env detach NODE`.
    """
    show_environment(workspace().isolation.use_interpreter(node, path, pipeline), as_json)


@click.command("detach")
@click.argument("node")
@lookup_pipeline_option
@json_option
def detach(node: str, pipeline: str | None, as_json: bool) -> None:
    """Give NODE an environment of its own again.

    From a shared environment it keeps the same packages at the same versions.
    """
    show_environment(workspace().isolation.detach(node, pipeline), as_json)
