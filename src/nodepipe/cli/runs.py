"""`nodepipe run | status | runs | logs | kill`: running pipelines and watching them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nodepipe.cli.options import JsonFlag, OptionalPipeline
from nodepipe.cli.output import console, done, print_json
from nodepipe.cli.progress import JsonEvents, LiveProgress
from nodepipe.cli.session import workspace
from nodepipe.cli.views import styled_state
from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES
from nodepipe.execution.plan import Plan
from nodepipe.services.runs import PipelineStatus, RunRequest, RunResult

NODE_FAILED_EXIT = 8
CANCELLED_EXIT = 130

NodeList = Annotated[list[str] | None, typer.Option(help="Repeatable.", show_default=False)]


def run(
    pipeline: str,
    nodes: Annotated[
        list[str] | None, typer.Argument(help="With --only: run just these nodes.")
    ] = None,
    only: Annotated[bool, typer.Option("--only", help="Run only the NODES named.")] = False,
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Up to this node (and what it needs).")
    ] = None,
    from_: Annotated[list[str] | None, typer.Option("--from", help="From this node down.")] = None,
    force: Annotated[bool, typer.Option(help="Re-run the selection even if up to date.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Nodes at once.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the plan and why; run nothing.")] = False,
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="host:port of a Ray cluster.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run what never ran or is stale, in dependency order, in parallel where possible."""
    request = RunRequest(
        pipeline,
        only=nodes if (only or nodes) else None,
        from_=from_,
        to=to,
        force=force,
        jobs=jobs,
        executor=executor,
        ray_address=ray_address,
    )
    runs = workspace().runs
    if dry_run:
        result = runs.plan(request)
        print_json(_plan_json(result)) if as_json else _print_plan(result.plan, result.tags)
        return
    if as_json:
        result = runs.run(request, [JsonEvents()])
        if result.finished is None:
            print(json.dumps({"event": "nothing_to_run", **_plan_json(result)}))
    else:
        with LiveProgress() as progress:
            result = runs.run(request, [progress])
        _print_outcome(result)
    _exit_for(result)


def _exit_for(result: RunResult) -> None:
    finished = result.finished
    if finished is None:
        return
    if finished.failed:
        raise typer.Exit(NODE_FAILED_EXIT)
    if finished.status == "cancelled":
        raise typer.Exit(CANCELLED_EXIT)


def _plan_json(result: RunResult) -> dict[str, object]:
    tags = result.tags
    return {
        "run": [
            {"node_id": p.node_id, "tag": tags[p.node_id], "reasons": p.reasons}
            for p in result.plan.nodes
        ],
        "skipped": [
            {"node_id": s.node_id, "tag": tags[s.node_id], "reason": s.reason}
            for s in result.plan.skipped
        ],
        "blocked": [
            {"node_id": b.node_id, "tag": tags[b.node_id], "reasons": b.reasons}
            for b in result.plan.blocked
        ],
    }


def _print_plan(plan: Plan, tags: dict[str, str]) -> None:
    if not plan.nodes:
        done("nothing to run: every selected node is up to date")
    for position, item in enumerate(plan.nodes, 1):
        done(
            f"{position:3}. [bold]{tags[item.node_id]}[/] ({item.node_id}): "
            + "; ".join(item.reasons)
        )
    for blocked in plan.blocked:
        done(f"  [red]blocked[/] {tags[blocked.node_id]}: " + "; ".join(blocked.reasons))
    for skipped in plan.skipped:
        if skipped.reason != "up to date":
            done(f"  [dim]not run[/] {tags[skipped.node_id]}: {skipped.reason}")


def _print_outcome(result: RunResult) -> None:
    if result.finished is None:
        _print_plan(result.plan, result.tags)
        return
    f = result.finished
    colour = {"completed": "green", "failed": "red"}.get(f.status, "magenta")
    done(
        f"run {result.run_id} [{colour}]{f.status}[/]: {f.completed} completed, {f.failed} "
        f"failed, {f.skipped} skipped, {f.cancelled} cancelled"
    )
    if f.failed:
        done(
            "see why with `nodepipe logs NODE`; fix and run again: only what failed or is "
            "stale will run"
        )


def status(
    pipeline: str,
    why: Annotated[bool, typer.Option("--why", help="Say why each node is in its state.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Each node's state, computed from its fingerprint (code, lock, parameters, parents)."""
    result = workspace().runs.status(pipeline)
    if as_json:
        print_json(_status_json(result))
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "tag", "state", *(("why",) if why else ())):
        table.add_column(column)
    for item in result.nodes.values():
        row = [item.node_id, item.item.node.tag, styled_state(item.state)]
        if why:
            row.append("; ".join(item.reasons) or "up to date")
        table.add_row(*row)
    console.print(table)


def _status_json(result: PipelineStatus) -> list[dict[str, object]]:
    return [
        {
            "node_id": s.node_id,
            "tag": s.item.node.tag,
            "state": s.state.value,
            "reasons": list(s.reasons),
            "is_reference": s.item.is_reference,
        }
        for s in result.nodes.values()
    ]


def runs(
    pipeline: Annotated[str | None, typer.Argument(help="Only this pipeline's runs.")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Show one run's nodes.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run history: who ran what, when, where, and how it ended."""
    service = workspace().runs
    if run_id is not None:
        node_runs = service.node_runs(run_id)
        if as_json:
            print_json(node_runs)
            return
        table = Table(show_edge=False, header_style="bold")
        for column in ("node", "state", "exit", "seconds", "why / message", "log"):
            table.add_column(column)
        for nr in node_runs:
            duration = nr.duration_seconds
            seconds = "" if duration is None else f"{duration:.2f}"
            table.add_row(
                nr.node_id,
                nr.state.value,
                "" if nr.exit_code is None else str(nr.exit_code),
                seconds,
                nr.message or "; ".join(nr.reasons),
                nr.log_file,
            )
        console.print(table)
        return
    history = service.history(pipeline)
    if as_json:
        print_json(history)
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("run", "pipeline", "status", "executor", "by", "started", "seconds"):
        table.add_column(column)
    for run in history:
        took = (run.finished_at - run.created_at).total_seconds() if run.finished_at else None
        table.add_row(
            run.id,
            run.pipeline_tag,
            run.status.value,
            run.executor,
            run.requested_by,
            run.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "" if took is None else f"{took:.1f}",
        )
    console.print(table)


def logs(
    node: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing while it runs.")
    ] = False,
    run_id: Annotated[str | None, typer.Option("--run", help="The log of this run.")] = None,
    pipeline: OptionalPipeline = None,
) -> None:
    """Print a node's log (the latest run's by default)."""
    service = workspace().runs
    node_run = service.log(node, run_id, pipeline)
    path = Path(node_run.log_file)
    with path.open("rb") as handle:
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


def _still_active(service: object, run_id: str, node_run_id: str) -> bool:
    from nodepipe.services.runs import RunService

    assert isinstance(service, RunService)
    return any(
        nr.id == node_run_id and nr.state in ACTIVE_NODE_RUN_STATES
        for nr in service.node_runs(run_id)
    )


def kill(
    nodes: Annotated[list[str] | None, typer.Argument(help="Nodes to stop.")] = None,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="Stop every node of this pipeline.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Stop queued or running nodes (their whole process group); descendants are skipped."""
    stopped = workspace().runs.kill(nodes or [], pipeline)
    if as_json:
        print_json(stopped)
    else:
        done(
            f"asked {len(stopped)} node run(s) to stop: " + ", ".join(nr.node_id for nr in stopped)
        )
