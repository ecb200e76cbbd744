"""``nodepipe doctor`` without ``--repair``: every finding, and the disk used by outputs,
environments and the uv cache. Looking changes nothing (the workspace is opened without the
crash recovery every other command runs first)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from nodepipe.services.context import WorkspaceContext
from nodepipe.services.upkeep.doctor.findings import DiskTotals, DoctorReport, Finding
from nodepipe.services.upkeep.doctor.kept_packages import find_kept_packages
from nodepipe.services.upkeep.doctor.node_leftovers import (
    find_cut_short_writes,
    find_environment_leftovers,
    find_promotion_leftovers,
    find_stale_kernels,
)
from nodepipe.services.upkeep.doctor.node_rows import find_missing_folders, find_orphan_folders
from nodepipe.services.upkeep.doctor.operations import find_journal, find_runs
from nodepipe.services.upkeep.doctor.private_files import find_private_files
from nodepipe.services.upkeep.doctor.survey import Progress, Survey, no_progress
from nodepipe.services.upkeep.doctor.uv_leftovers import find_uv_leftovers
from nodepipe.services.upkeep.run_objects import store_size
from nodepipe.workspace.disk_usage import DiskUsage
from nodepipe.workspace.layout import WorkspaceLayout

FINDERS: tuple[tuple[str, Callable[[Survey], list[Finding]]], ...] = (
    ("looking at runs", find_runs),
    ("looking at the journal of operations", find_journal),
    ("looking at node folders without rows", find_orphan_folders),
    ("looking at node rows without folders", find_missing_folders),
    ("looking at unsettled outputs", find_promotion_leftovers),
    ("looking at environments", find_environment_leftovers),
    ("looking at saves cut short", find_cut_short_writes),
    ("looking at Jupyter kernels", find_stale_kernels),
    ("looking at file modes", find_private_files),
    ("looking at the bundles of pulled packages", find_kept_packages),
    ("looking at uv's temporary folder", find_uv_leftovers),
)


def examine(context: WorkspaceContext, progress: Progress = no_progress) -> DoctorReport:
    progress("looking at node folders, the journal and the store")
    survey = Survey.take(context)
    findings: list[Finding] = []
    for step, finder in FINDERS:
        progress(step)
        findings += finder(survey)
    progress("measuring disk use")
    return DoctorReport(tuple(findings), measure_disk(survey.context.layout, survey.folders))


def measure_disk(layout: WorkspaceLayout, node_folders: Mapping[str, Path]) -> DiskTotals:
    """Disk used by the uv cache, then environments (what they add to it), then outputs, then
    the run object store; read from the folders alone (no store is opened)."""
    folders = node_folders.values()
    usage = DiskUsage()
    uv_cache = usage.measure([layout.uv_cache_dir])
    shared = sorted(layout.shared_envs_dir.glob("*/.venv"))
    environments = usage.measure(
        [*(f / "code" / name for f in folders for name in (".venv", ".conda")), *shared]
    )
    outputs = usage.measure([f / name for f in folders for name in ("data", "reports")])
    return DiskTotals(uv_cache, environments, outputs, store_size(layout))
