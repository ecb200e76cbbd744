"""`nodepipe serve`: the web app (graph editor, live runs) over the workspace."""

from __future__ import annotations

import click

from nodepipe.cli.session import selected_path


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any address but loopback requires a token.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--token",
    envvar="NODEPIPE_TOKEN",
    default=None,
    show_envvar=True,
    help="Required off loopback; generated and printed when not given.",
)
def serve(host: str, port: int, token: str | None) -> None:
    """Start the web app: projects, pipelines, the graph editor and live runs."""
    from nodepipe.api import serve as run_server

    run_server(selected_path(), host, port, token)
