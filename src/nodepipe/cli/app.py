"""The ``nodepipe`` root command, its sub-commands, and the error-to-exit-code boundary.

Sub-commands are imported when they run (``nodepipe.cli.lazy``), and what renders an error is
imported when one happens: a command pays only for the modules it uses.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from nodepipe.cli.lazy import LazyCommand, LazyCommandGroup
from nodepipe.cli.options import json_asked, json_option
from nodepipe.cli.session import close_workspace, select_workspace
from nodepipe.services.location import WORKSPACE_ENV

COMMANDS = {
    "project": LazyCommand("nodepipe.cli.projects:app", "Projects: named groups of pipelines."),
    "pipeline": LazyCommand(
        "nodepipe.cli.pipelines:app",
        "Pipelines: graphs of nodes.",
        extras=(
            "nodepipe.cli.envs:base_env",
            "nodepipe.cli.bundles:includes",
            "nodepipe.cli.bundles:include",
        ),
    ),
    "node": LazyCommand(
        "nodepipe.cli.nodes:app", "Nodes: folders with code, an environment and outputs."
    ),
    "group": LazyCommand("nodepipe.cli.groups:app", "Visual groups of nodes in a pipeline."),
    "connect": LazyCommand(
        "nodepipe.cli.edges:connect",
        "Feed PARENT's outputs to CHILD (refuses cycles, naming them).",
    ),
    "disconnect": LazyCommand("nodepipe.cli.edges:disconnect", "Remove the edge PARENT → CHILD."),
    "run": LazyCommand(
        "nodepipe.cli.runs:run", "Run what never ran or is stale, in dependency order."
    ),
    "status": LazyCommand(
        "nodepipe.cli.runs:status", "Each node's state in PIPELINE, and (with --why) why."
    ),
    "runs": LazyCommand(
        "nodepipe.cli.runs:runs", "Run history: who ran what, when, where, and how it ended."
    ),
    "history": LazyCommand(
        "nodepipe.cli.history:history",
        "PIPELINE's runs, newest first: who started each, when, what ran, outcome, duration.",
    ),
    "logs": LazyCommand(
        "nodepipe.cli.runs:logs", "Print NODE's log (the latest run's by default)."
    ),
    "kill": LazyCommand(
        "nodepipe.cli.runs:kill", "Stop queued or running nodes; their descendants are skipped."
    ),
    "env": LazyCommand(
        "nodepipe.cli.envs:env",
        "A node's environment: packages, Python version, snapshots, kernel.",
        extras=(
            "nodepipe.cli.external_code:code_path",
            "nodepipe.cli.isolation:use_shared",
            "nodepipe.cli.isolation:interpreter",
            "nodepipe.cli.isolation:detach",
        ),
    ),
    "shared-env": LazyCommand(
        "nodepipe.cli.envs:shared_env", "Named environments that several nodes share."
    ),
    "serve": LazyCommand(
        "nodepipe.cli.serve:serve",
        "Start the web app: projects, pipelines, the graph editor and live runs.",
    ),
    "server": LazyCommand(
        "nodepipe.cli.servers:app", "The workspace's web servers: their links, their password."
    ),
    "demo": LazyCommand(
        "nodepipe.cli.demo:demo", "Run a demo pipeline: numpy 1.x and 2.x side by side."
    ),
    "backup": LazyCommand(
        "nodepipe.cli.backup:app",
        "Copies of the workspace's store: `nodepipe backup [DEST]` makes one.",
    ),
    "bundle": LazyCommand(
        "nodepipe.cli.bundles:app", "Bundles: pipelines as portable, git-friendly folders."
    ),
    "package": LazyCommand(
        "nodepipe.cli.packages:app",
        "Packages: pipelines as wheels and sdists on any package index.",
    ),
    "doctor": LazyCommand(
        "nodepipe.cli.doctor:doctor",
        "Find what crashes, lost rows and old versions left in the workspace, with disk used.",
    ),
    "version": LazyCommand(
        "nodepipe.cli.version:version",
        "Print the installed nodepipe's version.",
    ),
}


def _version_flag(ctx: click.Context, _param: click.Parameter, asked: bool) -> None:
    """``--version``: print the version and end before anything else is looked at (no
    workspace is needed or opened); what prints it is imported only then."""
    if asked and not ctx.resilient_parsing:
        from nodepipe.cli.version import print_version

        print_version(as_json=False)
        ctx.exit()


@click.group(
    "nodepipe",
    cls=LazyCommandGroup,
    lazy=COMMANDS,
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
@click.option(
    "--verbose",
    is_flag=True,
    help="When building an environment fails, also print uv's full output.",
)
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_version_flag,
    help="Print the installed nodepipe's version and exit.",
)
@click.pass_context
def app(ctx: click.Context, workspace: Path | None, verbose: bool) -> None:
    select_workspace(workspace)
    _VERBOSE[0] = verbose
    ctx.call_on_close(close_workspace)


_VERBOSE = [False]
"""Whether ``--verbose`` was given (read by ``main`` after the command has ended)."""


@app.command("init")
@click.argument("path", type=click.Path(path_type=Path), default=".")
@click.option("--db", help="Store URL, e.g. postgresql+psycopg://user@host/db (default: SQLite).")
@click.option("--python", help="Default interpreter for node environments.")
@json_option
def init(path: Path, db: str | None, python: str | None, as_json: bool) -> None:
    """Create a workspace: config, store, shared uv cache, nodes/.

    PATH is a new or empty directory (default: the current one).
    """
    from nodepipe.cli.output import render
    from nodepipe.services.workspace import Workspace

    with Workspace.init(path, db, python) as ws:
        made = {"root": ws.root, "store": ws.context.store.dialect}
        render(
            made, as_json, None, f"created workspace {ws.root} ({ws.context.store.dialect} store)"
        )


def refuse_text_not_utf8(arguments: list[str]) -> None:
    """Refuse a command line with an argument that is not UTF-8 (Python keeps its bytes as lone
    surrogates): nodepipe keeps names and paths in its store and its files as UTF-8 text, and
    such an argument would fail deep inside a command instead of here."""
    for position, argument in enumerate(arguments, 1):
        if argument.isascii():
            continue
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            from nodepipe.domain.errors import InvalidInputError

            shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise InvalidInputError(
                f"argument {position} ('{shown}') is not UTF-8 text: nodepipe takes names and"
                " paths as UTF-8 (rename the file or folder, or give its name in UTF-8)"
            ) from None


def console() -> None:
    """The ``nodepipe`` program: ``main`` in a process that ends with its command (a short
    command's values are left to the process's end, not walked by the garbage collector:
    ``services.gc_pause``), and ends at once when it is done (``end_now``)."""
    from nodepipe.services.gc_pause import one_command_process

    one_command_process()
    open_closed_streams()
    try:
        main()
    except SystemExit as ending:
        end_now(ending)


def open_closed_streams() -> None:
    """A standard stream its caller closed (``nodepipe status >&-``) is opened on the null
    device: what would be written there goes nowhere (as to a reader that went away), and the
    descriptor is not free for the next file opened (the store, a log) to take, where a
    process started with it as its output would write."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: ``fd`` itself
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115


def end_now(ending: SystemExit, before_exit: Callable[[int], None] | None = None) -> None:
    """End the process with the command's exit status, without tearing the interpreter down.

    The teardown frees every module and runs a last garbage collection over all the command
    made: about a tenth of the CPU of a ``status`` or of a run's own process, after its
    answer is out. Nothing of the command's is left to it: the store commits each transaction
    durably and the command has closed its files; the exit handlers (``atexit``) still run
    here, then the standard streams are flushed. Where something else still runs (a thread
    that is not a daemon), the status is not a number, or a stream cannot be flushed (a full
    disk), the interpreter ends as it always did, and reports it; a closed pipe (the reader went
    away) ends it silently with ``READER_GONE`` (or the command's own failing status).
    ``before_exit`` is told that status once everything is flushed, as the very last step (a
    fork server's worker tells its client there: ``fork_worker``)."""
    code = 0 if ending.code is None else ending.code
    threading = sys.modules.get("threading")  # never imported: no thread to wait for
    if not isinstance(code, int) or (
        threading is not None
        and any(not t.daemon and t is not threading.main_thread() for t in threading.enumerate())
    ):
        raise ending
    atexit._run_exitfuncs()  # what the interpreter runs before its teardown
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away after the last write: nothing more said
        from nodepipe.cli.errors import READER_GONE
        from nodepipe.cli.output import reader_gone

        reader_gone()
        code = code or READER_GONE.code
    except Exception:
        raise ending from None
    if before_exit is not None:
        before_exit(code)
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: nodepipe errors become a message on stderr and an exit code."""
    json_asked(forget=True)
    try:
        refuse_text_not_utf8(sys.argv[1:] if argv is None else argv)
        code = app.main(args=argv, prog_name="nodepipe", standalone_mode=False)
    except click.ClickException as usage_error:
        usage_error.show()
        raise SystemExit(usage_error.exit_code) from None
    except click.Abort:
        from nodepipe.cli.errors import CANCELLED
        from nodepipe.cli.output import error_console

        error_console.print("aborted")
        raise SystemExit(CANCELLED.code) from None
    except Exception as failure:  # nodepipe's own errors, and the machine's (disk, store)
        from nodepipe.cli.errors import exit_code_for
        from nodepipe.cli.hints import with_hint
        from nodepipe.cli.output import print_error, print_error_json
        from nodepipe.services.failures import as_nodepipe_error

        error = as_nodepipe_error(failure)
        if error is None:
            raise
        typed = sys.argv[1:] if argv is None else argv
        if json_asked():
            print_error_json(error)
        detail = getattr(error, "detail", "")
        if _VERBOSE[0] and detail:  # uv's words once: all of them, not the short paragraph too
            from nodepipe.cli.output import error_console

            print_error(with_hint(str(error).split("\n", 1)[0], error.hint, typed))
            error_console.print(f"what uv said:\n{detail}", markup=False, highlight=False)
        else:
            print_error(with_hint(str(error), error.hint, typed))
        raise SystemExit(exit_code_for(error)) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
