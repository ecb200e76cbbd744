"""What ``nodepipe doctor`` finds: one ``Finding`` per leftover, grouped by category, each
saying what ``--repair`` would do about it (or that it is left alone, and why)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Category(enum.StrEnum):
    STORE_OF_ANOTHER_WORKSPACE = "store-of-another-workspace"
    INTERRUPTED_RUNS = "interrupted-runs"
    ABANDONED_OPERATIONS = "abandoned-operations"
    STAGING_LITTER = "staging-litter"
    PROMOTION_LEFTOVERS = "promotion-leftovers"
    ENVIRONMENT_LEFTOVERS = "environment-leftovers"
    CUT_SHORT_WRITES = "cut-short-writes"
    ORPHAN_FOLDERS = "orphan-folders"
    MISSING_FOLDERS = "missing-folders"
    STALE_KERNELS = "stale-kernels"
    PRIVATE_FILES = "private-files"
    KEPT_PACKAGES = "kept-packages"
    UV_LEFTOVERS = "uv-leftovers"
    IN_USE = "in-use"


TITLES = {
    Category.STORE_OF_ANOTHER_WORKSPACE: "a store that belongs to another workspace folder",
    Category.INTERRUPTED_RUNS: "runs whose nodepipe process died",
    Category.ABANDONED_OPERATIONS: "operations whose nodepipe process died",
    Category.STAGING_LITTER: "litter in .nodepipe/staging",
    Category.PROMOTION_LEFTOVERS: "unsettled outputs of finished node runs (.staging)",
    Category.ENVIRONMENT_LEFTOVERS: "half-built or replaced environments (.venv.*)",
    Category.CUT_SHORT_WRITES: (
        "saves of node files or nodepipe.toml a kill cut short (.NAME.1a2b3c4d.tmp)"
    ),
    Category.ORPHAN_FOLDERS: "node folders without a store row",
    Category.MISSING_FOLDERS: "node rows without a folder",
    Category.STALE_KERNELS: "Jupyter kernels of deleted nodes",
    Category.PRIVATE_FILES: "files others may read, secrets in nodepipe.toml",
    Category.KEPT_PACKAGES: "bundles of pulled packages no pipeline includes (.nodepipe/packages)",
    Category.UV_LEFTOVERS: "temporary files of a stopped uv or build (.nodepipe/uv-tmp)",
    Category.IN_USE: "in use by a live run, operation or process (left alone)",
}


@dataclass(frozen=True, slots=True)
class Finding:
    category: Category
    subject: str
    """A path, or a run's id."""
    what: str
    bytes: int = 0
    action: str | None = None
    """What ``--repair`` does about it; None when it leaves it alone (``what`` says why)."""
    node_id: str | None = None


@dataclass(frozen=True, slots=True)
class CategorySummary:
    category: Category
    title: str
    count: int
    to_repair: int
    bytes: int


@dataclass(frozen=True, slots=True)
class DiskTotals:
    """Disk used, each hard-linked file counted once (in the uv cache, measured first)."""

    uv_cache: int
    environments: int
    outputs: int
    objects: int = 0
    """The run object store (``.nodepipe/objects``: the code and locks runs started with)."""


@dataclass(frozen=True, slots=True)
class DoctorReport:
    findings: tuple[Finding, ...]
    disk: DiskTotals

    def of(self, category: Category) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.category is category)

    @property
    def to_repair(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.action is not None)

    def summary(self) -> list[CategorySummary]:
        """Every category, with its counts and bytes (zero when nothing was found)."""
        return [
            CategorySummary(
                category,
                TITLES[category],
                len(found := self.of(category)),
                sum(1 for finding in found if finding.action is not None),
                sum(finding.bytes for finding in found),
            )
            for category in Category
        ]
