"""What dead nodepipe processes left that crash recovery settles, and what live ones are
doing: runs whose orchestrator died, journal operations whose process died, litter in the
journal folder; runs and operations in flight (reported, never touched).

``--repair`` settles the first three with the same recovery every command runs when it opens a
workspace (``services.crash_recovery``); doctor reports them first, and ``--dry-run`` leaves
them as they are.
"""

from __future__ import annotations

from nodepipe.domain.runs import RunStatus
from nodepipe.execution.recovery import host_name, orchestrator_alive
from nodepipe.services.upkeep.crash_recovery import recoverers
from nodepipe.services.upkeep.doctor.findings import Category, Finding
from nodepipe.services.upkeep.doctor.survey import Survey
from nodepipe.workspace.disk_usage import disk_used
from nodepipe.workspace.journal_probe import JournalEntry, named_by

SETTLE_RUN = "mark its unfinished node runs interrupted; keep or put back their outputs"
RECOVER = "recover it: undo or finish what it did"
RECOVERED_CATEGORIES = frozenset(
    {Category.INTERRUPTED_RUNS, Category.ABANDONED_OPERATIONS, Category.STAGING_LITTER}
)
"""Categories ``--repair`` settles by running crash recovery."""


def find_runs(survey: Survey) -> list[Finding]:
    with survey.context.store.read() as session:
        running = session.runs_with_status(RunStatus.RUNNING)
    found = []
    for run in running:
        process = f"pid {run.orchestrator_pid} on {host_name(run.orchestrator_host)}"
        if orchestrator_alive(run):
            what = f"run of {run.pipeline_tag!r} by {process}"
            found.append(Finding(Category.IN_USE, run.id, what))
        else:
            what = f"run of {run.pipeline_tag!r}; its process ({process}) died"
            found.append(Finding(Category.INTERRUPTED_RUNS, run.id, what, 0, SETTLE_RUN))
    return found


def find_journal(survey: Survey) -> list[Finding]:
    found = [
        Finding(
            Category.IN_USE,
            str(entry.folder),
            f"{entry.kind} operation in flight",
            disk_used(entry.folder),
        )
        for entry in survey.journal.live
    ]
    found += [_abandoned(survey, entry) for entry in survey.journal.abandoned]
    found += [
        Finding(
            Category.STAGING_LITTER,
            str(path),
            "left by an operation that ended",
            disk_used(path),
            "remove",
        )
        for path in survey.journal.litter
    ]
    return found


def _abandoned(survey: Survey, entry: JournalEntry) -> Finding:
    if entry.kind and entry.kind not in recoverers():
        what = f"{entry.kind} operation of a newer nodepipe; left alone"
        return Finding(Category.ABANDONED_OPERATIONS, str(entry.folder), what)
    if not entry.kind:
        what = "operation whose process died before it did anything outside its folder"
        size = disk_used(entry.folder)
        return Finding(Category.ABANDONED_OPERATIONS, str(entry.folder), what, size, "remove it")
    rowless = sorted(
        node_id
        for node_id in named_by((entry,)).node_ids
        if node_id in survey.folders and node_id not in survey.rows
    )
    size = disk_used(entry.folder) + sum(disk_used(survey.folders[n]) for n in rowless)
    what = f"{entry.kind} operation whose process died"
    if rowless:
        what += f"; its node folders without a row go: {', '.join(rowless)}"
    return Finding(Category.ABANDONED_OPERATIONS, str(entry.folder), what, size, RECOVER)
