"""The ``nodepipe`` root command, its sub-commands, and the error-to-exit-code boundary."""

from __future__ import annotations

from pathlib import Path

import click

from nodepipe.cli import (
    backup,
    bundles,
    edges,
    envs,
    external_code,
    groups,
    nodes,
    packages,
    pipelines,
    projects,
    runs,
    servers,
)
from nodepipe.cli.demo import demo
from nodepipe.cli.doctor import doctor
from nodepipe.cli.errors import CANCELLED, exit_code_for
from nodepipe.cli.hints import with_hint
from nodepipe.cli.options import CommandGroup, json_option
from nodepipe.cli.output import error_console, print_error, render
from nodepipe.cli.serve import serve
from nodepipe.cli.session import close_workspace, select_workspace
from nodepipe.services.failures import as_nodepipe_error
from nodepipe.services.location import WORKSPACE_ENV


@click.group(
    "nodepipe",
    cls=CommandGroup,
    no_args_is_help=True,
    help="Pipelines of nodes, each a folder with its own code, locked environment and outputs.",
)
@click.option(
    "--workspace",
    "-w",
    type=click.Path(path_type=Path),
    envvar=WORKSPACE_ENV,
    show_envvar=True,
    help="Workspace directory (default: found from the current directory upwards).",
)
@click.pass_context
def app(ctx: click.Context, workspace: Path | None) -> None:
    select_workspace(workspace)
    ctx.call_on_close(close_workspace)


@app.command("init")
@click.argument("path", type=click.Path(path_type=Path), default=".")
@click.option("--db", help="Store URL, e.g. postgresql+psycopg://user@host/db (default: SQLite).")
@click.option("--python", help="Default interpreter for node environments.")
@json_option
def init(path: Path, db: str | None, python: str | None, as_json: bool) -> None:
    """Create a workspace: config, store, shared uv cache, nodes/.

    PATH is a new or empty directory (default: the current one).
    """
    from nodepipe.services.workspace import Workspace

    with Workspace.init(path, db, python) as ws:
        made = {"root": ws.root, "store": ws.context.store.dialect}
        render(
            made, as_json, None, f"created workspace {ws.root} ({ws.context.store.dialect} store)"
        )


for command in (
    projects.app,
    pipelines.app,
    nodes.app,
    groups.app,
    edges.connect,
    edges.disconnect,
    runs.run,
    runs.status,
    runs.runs,
    runs.logs,
    runs.kill,
    envs.env,
    envs.shared_env,
    serve,
    servers.app,
    demo,
    backup.app,
    bundles.app,
    packages.app,
    doctor,
):
    app.add_command(command)


pipelines.app.add_command(envs.base_env)
assert external_code.code_path.name in envs.env.commands  # registered on import
pipelines.app.add_command(bundles.includes)
pipelines.app.add_command(bundles.include)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: nodepipe errors become a message on stderr and an exit code."""
    try:
        code = app.main(args=argv, prog_name="nodepipe", standalone_mode=False)
    except click.ClickException as usage_error:
        usage_error.show()
        raise SystemExit(usage_error.exit_code) from None
    except click.Abort:
        error_console.print("aborted")
        raise SystemExit(CANCELLED.code) from None
    except Exception as failure:  # nodepipe's own errors, and the machine's (disk, store)
        error = as_nodepipe_error(failure)
        if error is None:
            raise
        print_error(with_hint(str(error), error.hint))
        raise SystemExit(exit_code_for(error)) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
