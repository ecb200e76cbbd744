"""The ``nodepipe`` command: global options, sub-commands, and the error-to-exit-code boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from nodepipe.cli import edges, groups, nodes, pipelines, projects, runs
from nodepipe.cli.demo import demo
from nodepipe.cli.errors import exit_code_for
from nodepipe.cli.options import JsonFlag
from nodepipe.cli.output import done, error_console, print_json
from nodepipe.cli.session import select_workspace
from nodepipe.domain.errors import NodepipeError
from nodepipe.services.context import WORKSPACE_ENV
from nodepipe.services.workspace import Workspace

app = typer.Typer(
    name="nodepipe",
    help="Pipelines of nodes, each a folder with its own code, locked environment and outputs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(projects.app, name="project")
app.add_typer(pipelines.app, name="pipeline")
app.add_typer(nodes.app, name="node")
app.add_typer(groups.app, name="group")
app.command("connect")(edges.connect)
app.command("disconnect")(edges.disconnect)
app.command("demo")(demo)
for command in (runs.run, runs.status, runs.runs, runs.logs, runs.kill):
    app.command(command.__name__)(command)


@app.callback()
def root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar=WORKSPACE_ENV,
            help="Workspace directory (default: found from the current directory upwards).",
        ),
    ] = None,
) -> None:
    """nodepipe: run, re-run, fork and share pipelines of self-contained nodes."""
    select_workspace(workspace)


@app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help="New or empty directory.")] = Path(),
    db: Annotated[
        str | None,
        typer.Option(help="Store URL, e.g. postgresql+psycopg://user@host/db (default: SQLite)."),
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="Default interpreter for node environments.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a workspace: config, store, shared uv cache, nodes/."""
    with Workspace.init(path, db, python) as ws:
        if as_json:
            print_json({"root": ws.root, "store": ws.context.store.dialect})
        else:
            done(f"created workspace {ws.root} ({ws.context.store.dialect} store)")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: nodepipe errors become a message on stderr and an exit code."""
    try:
        code = app(args=argv, prog_name="nodepipe", standalone_mode=False)
    except NodepipeError as error:
        error_console.print(f"[red]error:[/] {error}", soft_wrap=True)
        raise SystemExit(exit_code_for(error)) from None
    except click.ClickException as usage_error:
        usage_error.show()
        raise SystemExit(usage_error.exit_code) from None
    except click.Abort:
        error_console.print("aborted")
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
