"""``nodepipe doctor --repair``: act on each finding that has an action, looking again first.

Crash recovery (the same every command runs) settles interrupted runs, abandoned operations
and the journal's litter. Then the workspace is surveyed again and every other repair checks,
just before it acts, that no live operation names what it would touch and (in a store
transaction) that no run holds the node.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.services.context import WorkspaceContext
from nodepipe.services.upkeep.crash_recovery import recover_after_crash
from nodepipe.services.upkeep.doctor.adoption import adopt
from nodepipe.services.upkeep.doctor.findings import Category, DoctorReport, Finding
from nodepipe.services.upkeep.doctor.kept_packages import repair_kept_package
from nodepipe.services.upkeep.doctor.node_leftovers import (
    remove_leftover,
    repair_promotion_leftovers,
    repair_stale_kernel,
)
from nodepipe.services.upkeep.doctor.node_rows import mark_missing
from nodepipe.services.upkeep.doctor.operations import RECOVERED_CATEGORIES
from nodepipe.services.upkeep.doctor.private_files import repair_private_file
from nodepipe.services.upkeep.doctor.survey import Progress, Survey, no_progress
from nodepipe.services.upkeep.doctor.uv_leftovers import repair_uv_leftover


def repair(
    context: WorkspaceContext, report: DoctorReport, progress: Progress = no_progress
) -> list[Finding]:
    """Repair what ``report`` found that can be; returns the findings repaired."""
    todo = report.to_repair
    done = [finding for finding in todo if finding.category in RECOVERED_CATEGORIES]
    if done:
        progress("settling what dead nodepipe processes left")
        recover_after_crash(context)
    survey = Survey.take(context)
    done += _promotions(context, survey, report.of(Category.PROMOTION_LEFTOVERS), progress)
    for finding in (
        *report.of(Category.ENVIRONMENT_LEFTOVERS),
        *report.of(Category.CUT_SHORT_WRITES),
    ):
        path = Path(finding.subject)
        if path.exists() and not survey.live.covers(path):
            remove_leftover(path)
            done.append(finding)
    for finding in report.of(Category.STALE_KERNELS):
        if finding.node_id not in survey.rows and finding.node_id not in survey.folders:
            repair_stale_kernel(finding)
            done.append(finding)
    done += [
        finding
        for finding in report.of(Category.MISSING_FOLDERS)
        if finding.action and finding.node_id and mark_missing(context, finding.node_id)
    ]
    done += _orphans(context, survey, report.of(Category.ORPHAN_FOLDERS), progress)
    done += [
        finding
        for finding in report.of(Category.PRIVATE_FILES)
        if repair_private_file(context.layout, finding)
    ]
    done += [
        finding
        for finding in report.of(Category.KEPT_PACKAGES)
        if repair_kept_package(context, finding)
    ]
    done += [
        finding
        for finding in report.of(Category.UV_LEFTOVERS)
        if finding.action and repair_uv_leftover(context.layout, finding)
    ]
    return done


def _promotions(
    context: WorkspaceContext, survey: Survey, found: tuple[Finding, ...], progress: Progress
) -> list[Finding]:
    done: list[Finding] = []
    for node_id in sorted({finding.node_id for finding in found if finding.node_id}):
        progress(f"settling the outputs of node {node_id}")
        folder = context.layout.node_dir(node_id)
        if not survey.live.covers(folder, node_id) and repair_promotion_leftovers(context, node_id):
            done += [finding for finding in found if finding.node_id == node_id]
    return done


def _orphans(
    context: WorkspaceContext, survey: Survey, found: tuple[Finding, ...], progress: Progress
) -> list[Finding]:
    adoptable = [
        finding
        for finding in found
        if finding.action
        and finding.node_id in survey.folders
        and finding.node_id not in survey.rows
        and not survey.untouchable(Path(finding.subject), finding.node_id)
    ]
    if not adoptable:
        return []
    adoption = adopt(context, [f.node_id for f in adoptable if f.node_id], progress)
    adopted = {node.id for node in adoption.nodes}
    return [finding for finding in adoptable if finding.node_id in adopted]
