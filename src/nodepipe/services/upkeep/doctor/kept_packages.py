"""Bundles kept under ``.nodepipe/packages`` that no include uses any more.

``package pull --into`` keeps a package's bundle there for its include (``packages.kept``);
a pull that fails or is killed removes its own, but deleting the pipeline (or the include)
leaves the folder behind. Doctor reports each such folder with its disk use; ``--repair``
removes it, unless an operation in flight names it, checking again just before it does.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.services.context import WorkspaceContext
from nodepipe.services.packages.kept import remove_unreferenced, unreferenced
from nodepipe.services.upkeep.doctor.findings import Category, Finding
from nodepipe.services.upkeep.doctor.survey import Survey
from nodepipe.workspace.journal_probe import look, named_by

REMOVE = "remove it"


def find_kept_packages(survey: Survey) -> list[Finding]:
    found = []
    for kept in unreferenced(survey.context):
        if survey.untouchable(kept.path):
            what = "bundle of a pulled package, named by an operation in flight"
            found.append(Finding(Category.IN_USE, str(kept.path), what, kept.size))
        else:
            what = "bundle of a pulled package that no pipeline includes"
            found.append(Finding(Category.KEPT_PACKAGES, str(kept.path), what, kept.size, REMOVE))
    return found


def repair_kept_package(context: WorkspaceContext, finding: Finding) -> bool:
    path = Path(finding.subject)
    if named_by(look(context.layout.staging_dir).live).covers(path):
        return False
    return remove_unreferenced(context, path)
