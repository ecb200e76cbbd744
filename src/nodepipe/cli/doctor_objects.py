"""`nodepipe doctor --objects [--keep N] [--collect] [--repair]`: the run object store's size,
what no run record names, and collecting it; its damaged contents, and setting them aside
(``services.upkeep.run_objects``). Pruning the
environments of older runs loses them for `env restore`/`node restore`, so it is asked for
(``--yes`` for scripts), naming how many node runs lose theirs."""

from __future__ import annotations

from dataclasses import asdict

from rich.filesize import decimal

from nodepipe.cli.confirm import confirm_deleting, typed_again
from nodepipe.cli.output import done, error_console, render
from nodepipe.cli.session import selected_path


def doctor_objects(
    keep: int | None, collect: bool, grace: float, yes: bool, as_json: bool, repair: bool = False
) -> None:
    from nodepipe.services.context import open_context
    from nodepipe.services.upkeep.run_objects import examine_objects

    context = open_context(selected_path())
    try:
        with error_console.status("looking at the object store"):
            report = examine_objects(context, keep, False, grace, repair)
        if collect and report.pruned and not yes:
            _confirm(len(report.pruned), keep)
        if collect:
            with error_console.status("collecting the object store"):
                report = examine_objects(context, keep, True, grace)
    finally:
        context.store.close()
    data = {**asdict(report), "pruned": list(report.pruned), "damaged": list(report.damaged)}

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
        _show_damaged(report.root, report.damaged, report.set_aside)

    render(data, as_json, None, show)


def _show_damaged(root: str, damaged: tuple[str, ...], set_aside: bool) -> None:
    if not damaged:
        return
    done(f"{len(damaged)} damaged contents (their bytes no longer hash to their names):")
    for digest in damaged:
        done(f"  - {digest[:12]}")
    if set_aside:
        done(
            f"set aside in {root}/damaged: running again the nodes that recorded them stores "
            "them anew"
        )
    else:
        done(f"`{typed_again('--repair')}` sets them aside, so the next run stores them anew")


def _confirm(count: int, keep: int | None) -> None:
    confirm_deleting(
        "doctor --objects",
        f"  the recorded environments (code, locks) of {count} node runs older than each "
        f"node's newest {keep}: `env restore`/`node restore` of those runs will no longer work",
    )
