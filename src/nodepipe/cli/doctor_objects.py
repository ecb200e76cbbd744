"""`nodepipe doctor --objects [--keep N] [--collect]`: the run object store's size, what no
run record names, and collecting it (``services.upkeep.run_objects``). Pruning the
environments of older runs loses them for `env restore`/`node restore`, so it is asked for
(``--yes`` for scripts), naming how many node runs lose theirs."""

from __future__ import annotations

from dataclasses import asdict

from rich.filesize import decimal

from nodepipe.cli.confirm import confirm_deleting, typed_again
from nodepipe.cli.output import done, error_console, render
from nodepipe.cli.session import selected_path


def doctor_objects(keep: int | None, collect: bool, grace: float, yes: bool, as_json: bool) -> None:
    from nodepipe.services.context import open_context
    from nodepipe.services.upkeep.run_objects import examine_objects

    context = open_context(selected_path())
    try:
        with error_console.status("looking at the object store"):
            report = examine_objects(context, keep, False, grace)
        if collect and report.pruned and not yes:
            _confirm(len(report.pruned), keep)
        if collect:
            with error_console.status("collecting the object store"):
                report = examine_objects(context, keep, True, grace)
    finally:
        context.store.close()
    data = {**asdict(report), "pruned": list(report.pruned)}

    def show(_: object) -> None:
        verb = "removed" if report.collected else "no run names"
        done(
            f"{report.root}: {report.contents} contents ({decimal(report.bytes)}), "
            f"{report.referenced} named by run records; {verb}: {report.unreferenced} "
            f"({decimal(report.unreferenced_bytes)})"
            + (f"; {report.too_recent} more too recent to touch" if report.too_recent else "")
        )
        if report.pruned:
            pruned = "pruned" if report.collected else "would be pruned"
            done(f"environments of {len(report.pruned)} older node runs {pruned} (--keep {keep})")
        if not report.collected and (report.unreferenced or report.pruned):
            done(f"`{typed_again('--collect')}` removes them")

    render(data, as_json, None, show)


def _confirm(count: int, keep: int | None) -> None:
    confirm_deleting(
        "doctor --objects",
        f"  the recorded environments (code, locks) of {count} node runs older than each "
        f"node's newest {keep}: `env restore`/`node restore` of those runs will no longer work",
    )
