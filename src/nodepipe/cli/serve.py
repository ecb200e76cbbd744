"""`nodepipe serve`: the web app (graph editor, live runs) over the workspace."""

from __future__ import annotations

import click

from nodepipe.cli.session import selected_path


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface; the token is needed on all).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--token",
    envvar="NODEPIPE_TOKEN",
    default=None,
    show_envvar=True,
    help="The token every request needs (default: a random one per start, printed in the "
    "link). Prefer the variable: other users of the machine can see a command line.",
)
def serve(host: str, port: int, token: str | None) -> None:
    """Start the web app: projects, pipelines, the graph editor and live runs.

    It prints a link carrying the token; `nodepipe server list` shows it again.
    """
    from nodepipe.api import serve as run_server

    run_server(selected_path(), host, port, token)
