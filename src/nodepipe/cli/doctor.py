"""`nodepipe doctor`: report what crashes and lost rows left, repair it, rebuild a lost store."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.filesize import decimal
from rich.status import Status

from nodepipe.cli.confirm import yes_option
from nodepipe.cli.options import json_option
from nodepipe.cli.output import counted, done, error_console, print_warning, render
from nodepipe.cli.session import selected_path
from nodepipe.cli.views import add_row, table
from nodepipe.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from nodepipe.services.identity import StoreOfAnotherWorkspaceError
    from nodepipe.services.upkeep.doctor.findings import DoctorReport, Finding
    from nodepipe.services.upkeep.doctor.rebuild import Rebuild


class DelayedStatus:
    """A spinner on stderr naming the current step, shown once the work has taken a second
    (quick looks print nothing)."""

    def __init__(self, delay: float = 1.0) -> None:
        self._step = "looking at the workspace"
        self._status: Status | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._timer = threading.Timer(delay, self._show)
        self._timer.daemon = True

    def __call__(self, step: str) -> None:
        with self._lock:
            self._step = step
            if self._status is not None:
                self._status.update(step)

    def _show(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._status = error_console.status(self._step)
            self._status.start()

    def __enter__(self) -> DelayedStatus:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._status is not None:
                self._status.stop()


@click.command("doctor")
@click.option("--dry-run", is_flag=True, help="Say what --repair would do; change nothing.")
@click.option("--repair", is_flag=True, help="Repair what is safe to repair.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Make a new store from the node folders when the store is missing or damaged.",
)
@click.option(
    "--storage",
    "storage",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[URL]",
    help="Examine the object storage of remote workers instead (URL, or [storage] url): "
    "contents no run of this workspace names, and uploads cut short.",
)
@click.option(
    "--objects",
    is_flag=True,
    help="Examine the run object store instead (.nodepipe/objects: the code and locks each "
    "node run started with): its size, contents no run record names, and damaged contents "
    "(--repair sets them aside, so the next run of their node stores them anew).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    metavar="N",
    help="With --objects: keep the environments of each node's newest N runs only; older ones "
    "are pruned (their runs stay in the history).",
)
@click.option("--collect", is_flag=True, help="With --storage or --objects: remove what it lists.")
@click.option(
    "--grace",
    type=float,
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="With --storage or --objects: leave alone what was written less than this long ago.",
)
@yes_option
@json_option
def doctor(
    dry_run: bool,
    repair: bool,
    rebuild: bool,
    storage: str | None,
    objects: bool,
    keep: int | None,
    collect: bool,
    grace: float,
    yes: bool,
    as_json: bool,
) -> None:
    """Find what crashes, lost rows and old versions left in the workspace, with disk used.

    Without options it only reports. Nothing a live run or operation uses is touched.
    """
    if repair and (dry_run or rebuild):
        raise InvalidInputError("--repair goes alone: --dry-run shows what it would do")
    if collect and storage is None and not objects:
        raise InvalidInputError("--collect goes with --storage [URL] or --objects")
    if keep is not None and not objects:
        raise InvalidInputError("--keep goes with --objects")
    if storage is not None:
        _check_storage_alone(objects, repair, dry_run, rebuild)
        _doctor_storage(storage or None, collect, grace, as_json)
        return
    if objects:
        from nodepipe.cli.doctor_objects import doctor_objects

        doctor_objects(keep, collect, grace, yes, as_json, repair)
        return
    with DelayedStatus() as progress:
        if rebuild:
            from nodepipe.services.upkeep.doctor.rebuild import rebuild_store

            _show_rebuild(rebuild_store(selected_path(), dry_run, progress), as_json)
            return
        from nodepipe.services.context import open_context
        from nodepipe.services.identity import StoreOfAnotherWorkspaceError
        from nodepipe.services.upkeep.doctor.examine import examine
        from nodepipe.services.upkeep.doctor.repair import repair as repair_workspace

        try:
            context = open_context(selected_path(), rebuilding=True)  # --repair finishes it too
        except StoreOfAnotherWorkspaceError as refused:
            _show_store_of_another(refused, repair, as_json)
        if not repair and context.layout.rebuild_mark.exists():
            print_warning(
                "a `nodepipe doctor --rebuild` was cut short: the store does not hold the node "
                "folders yet (other commands refuse the workspace); `nodepipe doctor --rebuild` "
                "finishes it"
            )
        try:
            found = examine(context, progress)
            if not repair:
                _show_report(found, as_json, details=dry_run)
                return
            repaired = repair_workspace(context, found, progress)
            _show_repair(found, repaired, examine(context, progress), as_json)
        finally:
            context.store.close()


def _show_store_of_another(
    refused: StoreOfAnotherWorkspaceError, repair: bool, as_json: bool
) -> NoReturn:
    """Report a store of another workspace as doctor's finding (other commands refuse it) and
    end with the status of a bad workspace; ``--repair`` repairs nothing, in either store."""
    from nodepipe.cli.errors import exit_code_for
    from nodepipe.cli.hints import with_hint
    from nodepipe.services.upkeep.doctor.foreign_store import store_of_another_workspace

    what = with_hint(str(refused), refused.hint)
    report = store_of_another_workspace(selected_path(), what)
    data = _report_json(report)
    if repair:
        data = {"found": data, "repaired": [], "remaining": data}

    def show(_: object) -> None:
        _print_report(report, details=True)
        if repair:
            done("repaired 0 of 0: --repair changes neither store")

    render(data, as_json, None, show)
    raise SystemExit(exit_code_for(refused))


STORAGE_REPAIR_REFUSED = (
    "--repair does not go with --storage: a storage's damaged contents are not moved aside "
    "(a move in a bucket is a copy then a delete, which could delete a good copy uploaded "
    "meanwhile); the next upload of each replaces it, so run again the nodes that made them "
    "(`nodepipe doctor --storage` lists those its reads refused). Nothing was changed. "
    "`nodepipe doctor --objects --repair` sets aside the run object store's damaged contents"
)


def _check_storage_alone(objects: bool, repair: bool, dry_run: bool, rebuild: bool) -> None:
    """``--storage`` examines the remote workers' storage, and only that: an option meant for
    the workspace or its run object store is refused, not ignored."""
    if repair:
        raise InvalidInputError(STORAGE_REPAIR_REFUSED)
    if objects:
        raise InvalidInputError(
            "--objects and --storage examine two different stores (the run object store, the "
            "remote workers' storage): give one"
        )
    if dry_run:
        raise InvalidInputError(
            "--dry-run does not go with --storage: without --collect it only lists"
        )
    if rebuild:
        raise InvalidInputError(
            "--rebuild does not go with --storage: it rebuilds the workspace's store; run it alone"
        )


def _doctor_storage(url: str | None, collect: bool, grace: float, as_json: bool) -> None:
    from nodepipe.services.context import open_context
    from nodepipe.services.upkeep.storage_collect import examine_storage

    context = open_context(selected_path())
    try:
        with error_console.status("looking at the storage"):
            report = examine_storage(context, url, collect, grace)
    finally:
        context.store.close()
    data = {
        "url": report.url,
        "contents": report.contents,
        "referenced": report.referenced,
        "unreferenced": list(report.unreferenced),
        "uploads_cut_short": list(report.uploads_cut_short),
        "too_recent": report.too_recent,
        "collected": report.collected,
        "damaged": list(report.damaged),
    }

    def show(_: object) -> None:
        verb = "removed" if report.collected else "unreferenced"
        done(
            f"{report.url}: {report.contents} contents, {report.referenced} named by this "
            f"workspace; {verb}: {len(report.unreferenced)} contents and "
            f"{len(report.uploads_cut_short)} uploads cut short"
            + (f" ({report.too_recent} more too recent to touch)" if report.too_recent else "")
        )
        if not report.collected and (report.unreferenced or report.uploads_cut_short):
            done("`nodepipe doctor --storage --collect` removes them")
        if report.damaged:
            done(
                f"{len(report.damaged)} damaged contents (a read refused them: they do not hash "
                "to their names); the next upload of each replaces it: run again the nodes "
                "that made them"
            )
            for digest in report.damaged:
                done(f"  - {digest[:12]}")

    render(data, as_json, None, show)


def _report_json(report: DoctorReport) -> dict[str, Any]:
    return {"categories": report.summary(), "findings": report.findings, "disk": report.disk}


def _show_report(report: DoctorReport, as_json: bool, details: bool) -> None:
    render(_report_json(report), as_json, None, lambda _: _print_report(report, details))


def _print_report(report: DoctorReport, details: bool) -> None:
    _print_summary(report)
    if details:
        for finding in report.findings:
            _print_finding("would " + finding.action if finding.action else "leaves", finding)
    elif report.to_repair:
        done("`nodepipe doctor --dry-run` lists each; `nodepipe doctor --repair` repairs them")


def _show_repair(
    found: DoctorReport, repaired: list[Finding], after: DoctorReport, as_json: bool
) -> None:
    data = {"found": _report_json(found), "repaired": repaired, "remaining": _report_json(after)}
    render(data, as_json, None, lambda _: _print_repair(found, repaired, after))


def _print_repair(found: DoctorReport, repaired: list[Finding], after: DoctorReport) -> None:
    for finding in repaired:
        _print_finding(f"did {finding.action}", finding)
    done(f"repaired {len(repaired)} of {len(found.to_repair)}; the workspace now:")
    _print_summary(after)


def _print_summary(report: DoctorReport) -> None:
    grid = table("what", "found", "to repair", "disk")
    for line in report.summary():
        add_row(grid, line.title, str(line.count), str(line.to_repair), decimal(line.bytes))
    grid.write()
    disk = report.disk
    done(
        f"disk used: outputs {decimal(disk.outputs)}, environments {decimal(disk.environments)} "
        f"(beyond the uv cache), uv cache {decimal(disk.uv_cache)}, run records "
        f"(.nodepipe/objects) {decimal(disk.objects)}: `nodepipe doctor --objects` says what "
        "no run names"
    )


def _print_finding(verb: str, finding: Finding) -> None:
    size = f" [{decimal(finding.bytes)}]" if finding.bytes else ""
    done(f"{verb}: {finding.subject}{size} — {finding.what}")


def _show_rebuild(rebuilt: Rebuild, as_json: bool) -> None:
    render(rebuilt, as_json, None, _print_rebuild)


def _print_rebuild(rebuilt: Rebuild) -> None:
    done(f"the store {rebuilt.store} {rebuilt.problem}")
    if rebuilt.adoption is None:
        made = "finish this store" if rebuilt.finishes_a_cut_short_one else "make a new store"
        done(f"--rebuild would {made} and recover {len(rebuilt.node_ids)} node folders")
        return
    if rebuilt.moved_aside is not None:
        done(f"moved it aside to {rebuilt.moved_aside}")
    adoption = rebuilt.adoption
    nodes, edges = counted(len(adoption.nodes), "node"), counted(len(adoption.edges), "edge")
    done(
        f"made a new store: {nodes} and {edges} "
        f"recovered into the pipeline {adoption.pipeline!r} (project {adoption.pipeline!r})"
    )
    for why in adoption.not_connected:
        done(f"not connected again: {why}")
