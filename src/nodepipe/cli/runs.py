"""`nodepipe run | status | runs | logs | kill`: running pipelines and watching them."""

from __future__ import annotations

import json
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nodepipe.cli.errors import CANCELLED, NODE_FAILED
from nodepipe.cli.options import (
    json_option,
    lookup_pipeline_option,
    names_argument,
    repeatable_option,
)
from nodepipe.cli.output import (
    console,
    done,
    error_console,
    escape,
    json_data,
    render,
    say,
    unless_reader_gone,
)
from nodepipe.cli.session import workspace
from nodepipe.cli.views import add_row, styled_state, table
from nodepipe.domain.environments import LOCK_FILES
from nodepipe.domain.errors import Action, Hint, NodepipeError, NotFoundError
from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, RunStatus

LOCK_KINDS = tuple(LOCK_FILES)

if TYPE_CHECKING:
    from nodepipe.cli.walk_status import WalkStatus
    from nodepipe.domain.runs import NodeRun, Run
    from nodepipe.services.envs.run_envs import PastEnvironment
    from nodepipe.services.runs.service import PipelineStatus, RunRequest, RunResult, RunService


@click.command("run")
@click.argument("pipeline")
@names_argument("nodes", required=False)
@click.option(
    "--only", is_flag=True, help="Run only the NODES named (what they need is not added)."
)
@repeatable_option("--to", metavar="NODE", help="Up to this node, with what it needs. Repeatable.")
@repeatable_option("--from", "from_", metavar="NODE", help="From this node down. Repeatable.")
@click.option("--force/--no-force", help="Re-run the selection even if it is up to date.")
@click.option(
    "--jobs",
    "-j",
    type=int,
    metavar="N",
    help="Node processes at once (default: the CPU count); as many more are prepared ahead.",
)
@click.option("--dry-run/--no-dry-run", help="Show the plan and why; run nothing.")
@click.option(
    "--executor", default="local", show_default=True, help="Where nodes run: local or ray."
)
@click.option("--ray-address", help="host:port of the Ray cluster (with --executor ray).")
@click.option(
    "--shared-fs/--no-shared-fs",
    default=None,
    help="Whether Ray workers see the workspace (default: [execution] shared-fs, true). "
    "Without, code, locks and outputs travel through --storage.",
)
@click.option(
    "--storage",
    metavar="URL",
    help="Object storage (a folder or any fsspec URL, s3://bucket/prefix; default: [storage] "
    "url in nodepipe.toml): outputs are shared through it (a node made elsewhere from the same "
    "code, lock, parameters and inputs is pulled, not run), and workers without the workspace "
    "get their nodes through it.",
)
@json_option
def run(
    pipeline: str,
    nodes: list[str] | None,
    only: bool,
    to: list[str] | None,
    from_: list[str] | None,
    force: bool,
    jobs: int | None,
    dry_run: bool,
    executor: str,
    ray_address: str | None,
    shared_fs: bool | None,
    storage: str | None,
    as_json: bool,
) -> None:
    """Run what never ran or is stale, in dependency order.

    Nodes of PIPELINE run in parallel where the graph allows. Naming NODES runs just those;
    --from and --to narrow the selection (together: a slice).

    Exit status: 0 when the run completed, 8 when a node failed, 130 when it was cancelled
    (Ctrl-C, or a kill of any of its nodes, started or not); then it prints the command that
    runs what the run left undone; nodes it leaves out (blocked: a parent has no outputs to
    read; busy in another run; read-only here) are listed after its outcome, and do not change
    its status. With --json, each event of the run is one line of JSON (and that command goes
    to stderr). A reader that goes away (| head -1) ends the
    output, not the run: it runs to its end, with the same exit status.
    """
    from nodepipe.services.gc_pause import hold_off_for_command
    from nodepipe.services.runs.service import RunRequest

    hold_off_for_command()  # on again once nodes start (resume_collector): see _run_and_exit
    # Naming NODES already restricts the run to them; --only (kept for compatibility) just
    # says so explicitly, and without NODES it selects nothing less than the whole pipeline.
    request = RunRequest(
        pipeline,
        only=nodes,
        from_=from_,
        to=to,
        force=force,
        jobs=jobs,
        executor=executor,
        ray_address=ray_address,
        shared_fs=shared_fs,
        storage=storage,
    )
    service = workspace().runs
    if dry_run:
        with _walks_shown():
            result = service.plan(request)
        tags = result.tags
        render(result.plan, as_json, "PlanPublic", lambda _: _print_plan(result), tags)
        return
    try:
        _run_and_exit(service, request, as_json)
    except NodepipeError as error:
        if error.hint is not None and error.hint.action is Action.RAY_CONNECT:
            from nodepipe.cli.resume import ray_commands  # (and shlex) only when it failed

            given = ray_commands(request, _workspace_given())  # the user's own options
            error.hint = Hint(error.hint.action, {**error.hint.params, **given})
        raise


def _walks_shown() -> AbstractContextManager[WalkStatus | None]:
    """A line on stderr while a long walk of external code goes on: only on a terminal."""
    if not sys.stderr.isatty():
        return nullcontext()
    from nodepipe.cli.walk_status import showing_walks

    return showing_walks()


def _run_and_exit(service: RunService, request: RunRequest, as_json: bool) -> None:
    from nodepipe.cli.progress import JsonEvents, LiveProgress  # the execution layer: ~0.1 s
    from nodepipe.services.gc_pause import resume_collector

    def started(_: RunResult) -> None:
        resume_collector()  # nodes start: the run goes on, the collector with it

    with _walks_shown() as walks:  # until the run's first event: its display takes over
        quiet = [] if walks is None else [walks.close]
        if as_json:
            result = service.run(request, [*quiet, JsonEvents()], on_start=started)
        else:
            with LiveProgress() as progress:
                result = service.run(request, [*quiet, progress], on_start=started)
    finished = result.finished
    # A reader that went away (`| head -1`) ended the output, not the run: the run went on to
    # its end (the listeners above print nothing more), and the command ends with its status.
    with unless_reader_gone():
        if as_json and finished is None:
            plan = json_data(result.plan, "PlanPublic", result.tags)
            print(json.dumps({"type": "nothing_to_run", **plan}))
        elif not as_json:
            _print_outcome(result)
        if finished is not None and finished.status is not RunStatus.COMPLETED:
            _print_resume(service, request, result, as_json)
        sys.stdout.flush()
    if finished is None or finished.status is RunStatus.COMPLETED:
        return
    if finished.failed:
        raise click.exceptions.Exit(NODE_FAILED.code)
    if finished.status is RunStatus.CANCELLED:
        raise click.exceptions.Exit(CANCELLED.code)


def _print_resume(service: RunService, request: RunRequest, result: RunResult, json: bool) -> None:
    """How to run what the run left undone (on stderr with --json: stdout is the events)."""
    from nodepipe.cli.resume import resume_command, undone  # (and shlex) only when it did

    assert result.run_id is not None and result.finished is not None
    node_ids = undone(result, service.node_runs(result.run_id))
    if not node_ids:
        return
    command = resume_command(request, node_ids, result.tags, _workspace_given())
    fix = "see why with `nodepipe logs NODE`, fix it, then " if result.finished.failed else ""
    message = f"{fix}resume with `{command}`"
    if json:
        error_console.print(message, markup=False, soft_wrap=True)
    else:
        console.print(message, markup=False, soft_wrap=True)


def _workspace_given() -> Path | None:
    """The workspace named on this command line (one found, or from the environment, is
    found again the same way)."""
    root = click.get_current_context().find_root()
    given = root.get_parameter_source("workspace") is click.core.ParameterSource.COMMANDLINE
    return workspace().root if given else None


_UP_TO_DATE = "up to date"
"""The plan's reason for a node left out because nothing changed (``execution.plan``, which
the CLI does not import)."""
_BUSY = tuple(f"{state.value} in " for state in ACTIVE_NODE_RUN_STATES)
"""How the reason of a node left to another run begins (``queued in run 6rbt6dsh (…)``)."""


def _print_plan(result: RunResult) -> None:
    plan, tags = result.plan, result.tags
    if not plan.nodes:
        done(f"nothing to run: {_left_out(result)}")
    for position, item in enumerate(plan.nodes, 1):
        say(
            f"{position:3}. [bold]{escape(tags[item.node_id])}[/] ({item.node_id}): "
            + escape("; ".join(item.reasons))
        )
    _print_left_out(result)


def _left_out(result: RunResult) -> str:
    """What the plan leaves out, counted: ``3 up to date, 1 blocked``."""
    plan = result.plan
    kinds = dict.fromkeys(("up to date", "busy in another run", "read-only here", "blocked"), 0)
    for skipped in plan.skipped:
        if skipped.reason == _UP_TO_DATE:
            kinds["up to date"] += 1
        elif skipped.reason.startswith(_BUSY):
            kinds["busy in another run"] += 1
        else:
            kinds["read-only here"] += 1
    kinds["blocked"] = len(plan.blocked)
    counted = [f"{count} {kind}" for kind, count in kinds.items() if count]
    return ", ".join(counted) or "nothing selected"


def _print_left_out(result: RunResult) -> None:
    """Each node the plan leaves out for another reason than being up to date, and why."""
    plan, tags = result.plan, result.tags
    for blocked in plan.blocked:
        say(
            f"  [red]blocked[/] {escape(tags[blocked.node_id])}: "
            + escape("; ".join(blocked.reasons))
        )
    for skipped in plan.skipped:
        if skipped.reason != _UP_TO_DATE:
            say(f"  [dim]not run[/] {escape(tags[skipped.node_id])}: {escape(skipped.reason)}")


def _print_outcome(result: RunResult) -> None:
    if result.finished is None:
        _print_plan(result)
        return
    f = result.finished
    counts = f"{f.completed} completed, {f.failed} failed, {f.skipped} skipped, {f.cancelled}"
    if not sys.stdout.isatty():  # no colour to show: printed without rich
        done(f"run {result.run_id} {f.status}: {counts} cancelled")
    else:
        colour = {"completed": "green", "failed": "red"}.get(f.status, "magenta")
        say(f"run {result.run_id} [{colour}]{f.status}[/]: {counts} cancelled")
    _print_left_out(result)


@click.command("status")
@click.argument("pipeline")
@click.option("--why", is_flag=True, help="Say why each node is in its state.")
@json_option
def status(pipeline: str, why: bool, as_json: bool) -> None:
    """Each node's state in PIPELINE, and (with --why) why.

    States are computed from each node's fingerprint: its code, lock, parameters and parents.
    """
    from nodepipe.services.gc_pause import hold_off_for_command

    hold_off_for_command()  # 10,000 nodes' values live until printed: nothing for it to free
    with _walks_shown():
        result = workspace().runs.status(pipeline)
    render(result, as_json, "PipelineStatusPublic", lambda status: _print_status(status, why))


def _print_status(status: PipelineStatus, why: bool) -> None:
    rows = table("id", "tag", "state", *(("why",) if why else ()))
    for item in status.nodes.values():
        reasons = ("; ".join(item.reasons) or "up to date",) if why else ()
        add_row(rows, item.node_id, item.item.node.tag, styled_state(item.state), *reasons)
    rows.write()


@click.command("runs")
@click.argument("pipeline", required=False)
@click.option("--run", "run_id", help="Show the node runs of this run.")
@click.option(
    "--node",
    help="With --run: what this node ran with (Python, platform, uv and conda packages, locks).",
)
@click.option(
    "--lock",
    type=click.Choice(LOCK_KINDS),
    is_flag=False,
    flag_value="uv",
    help="With --node: print the stored text of that run's uv.lock (or, --lock conda, its "
    "conda.lock).",
)
@json_option
def runs(
    pipeline: str | None, run_id: str | None, node: str | None, lock: str | None, as_json: bool
) -> None:
    """Run history: who ran what, when, where, and how it ended.

    Lists the runs of PIPELINE only, if given; --run shows one run's node runs, and with
    --node what that node ran with (the run fixes the pipeline: a tag is looked for among the
    nodes that ran in it). --lock prints a stored lock exactly as that run had it.
    """
    if lock is not None and node is None:
        raise click.UsageError("--lock needs --run and --node: say whose lock to print")
    if node is not None:
        if run_id is None:
            raise click.UsageError("--node needs --run: say which run's environment to show")
        if lock is not None:
            stored = workspace().run_envs.lock(node, run_id, lock, pipeline)
            render(stored, as_json, "StoredLockPublic", lambda s: click.echo(s.text, nl=False))
            return
        past = workspace().run_envs.show(node, run_id, pipeline)
        render(past, as_json, "PastEnvironmentPublic", _print_past_environment)
        return
    service = workspace().runs
    if run_id is not None:
        render(service.node_runs(run_id), as_json, "NodeRunPublic", _print_node_runs)
        return
    render(service.history(pipeline), as_json, "RunPublic", _print_history)


def _print_history(history: list[Run]) -> None:
    rows = table("run", "pipeline", "status", "executor", "by", "started", "seconds")
    for past in history:
        took = (past.finished_at - past.created_at).total_seconds() if past.finished_at else None
        add_row(
            rows,
            past.id,
            past.pipeline_tag,
            past.status.value,
            past.executor,
            past.requested_by,
            past.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "" if took is None else f"{took:.1f}",
        )
    rows.write()


def _print_node_runs(node_runs: list[NodeRun]) -> None:
    rows = table("node", "state", "exit", "seconds", "why / message", "log")
    for nr in node_runs:
        duration = nr.duration_seconds
        add_row(
            rows,
            nr.node_id,
            nr.state.value,
            "" if nr.exit_code is None else str(nr.exit_code),
            "" if duration is None else f"{duration:.2f}",
            nr.message or "; ".join(nr.reasons),
            nr.log_file,
        )
    rows.write()


def _print_past_environment(past: PastEnvironment) -> None:
    say(f"[bold]{escape(past.tag)}[/] ({past.node_id}) in run {past.run_id}: {past.state.value}")
    rows = table("recorded", "value")
    add_row(rows, "python", past.python or "(no environment)")
    add_row(rows, "interpreter", past.interpreter or "(not recorded)")
    add_row(rows, "platform", past.platform)
    for kind, digest in sorted(past.locks.items()):
        add_row(rows, f"{kind} lock", digest)
    add_row(rows, "code", f"{past.code[:12]} ({len(past.files)} files)")
    params = ", ".join(f"{key}={value!r}" for key, value in sorted(past.params.items()))
    add_row(rows, "params", params or "(none)")
    rows.write()
    isolated = "uv" in past.locks or not past.interpreter
    if not isolated:
        done(
            f"not isolated: it ran with {escape(past.interpreter)} (Python {past.python}), "
            "where nodepipe installs no packages"
        )
    if not past.packages and not past.conda_packages:
        if isolated:
            done("its locks pin no packages")
        return
    packages = table("package", "version", "from")
    for name, version in past.packages.items():
        add_row(packages, name, version, "uv")
    for conda in past.conda_packages:
        add_row(packages, conda.name, conda.version, f"conda {conda.channel} ({conda.build})")
    packages.write()


@click.command("logs")
@click.argument("node")
@click.option("--follow", "-f", is_flag=True, help="Keep printing while it runs.")
@click.option(
    "--run", "run_id", help="The log of this run: its id or its start (default: the latest)."
)
@lookup_pipeline_option
def logs(node: str, follow: bool, run_id: str | None, pipeline: str | None) -> None:
    """Print NODE's log (the latest run's by default)."""
    service = workspace().runs
    node_run = service.log(node, run_id, pipeline)
    log = Path(node_run.log_file)
    if not log.is_file():
        raise NotFoundError(f"the log {log} is gone (was the node's folder removed?)")
    with log.open("rb") as handle:
        while True:
            chunk = handle.read()
            if chunk:
                console.file.write(chunk.decode(errors="replace"))
                console.file.flush()
            if not follow or not _still_active(service, node_run.run_id, node_run.id):
                if follow:  # one last read after it stopped
                    console.file.write(handle.read().decode(errors="replace"))
                return
            time.sleep(0.2)


def _still_active(service: RunService, run_id: str, node_run_id: str) -> bool:
    return any(
        nr.id == node_run_id and nr.state in ACTIVE_NODE_RUN_STATES
        for nr in service.node_runs(run_id)
    )


@click.command("kill")
@names_argument("nodes", required=False)
@click.option("--pipeline", "-p", metavar="PIPELINE", help="Stop every node of this pipeline.")
@json_option
def kill(nodes: list[str] | None, pipeline: str | None, as_json: bool) -> None:
    """Stop queued or running nodes; their descendants are skipped.

    Stops NODES, or every node of --pipeline, each with its whole process group.
    """
    stopped = workspace().runs.kill(nodes or [], pipeline)
    asked = ", ".join(nr.node_id for nr in stopped)
    render(stopped, as_json, "NodeRunPublic", f"asked {len(stopped)} node run(s) to stop: {asked}")
