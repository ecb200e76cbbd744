"""``nodepipe doctor`` on a folder whose store belongs to another workspace.

Every other command refuses such a folder (``services.identity``); doctor is what a user runs to
learn what is wrong, so it reports the refusal as its one finding instead, with the disk the
folder uses. Its store is never opened for more than the identity check that refused it, so
neither store is changed, ``--repair`` included: the finding has no action, as what would fix
it (which store this folder should use) is the user's choice.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.services.context import locate_workspace
from nodepipe.services.upkeep.doctor.examine import measure_disk
from nodepipe.services.upkeep.doctor.findings import Category, DoctorReport, Finding
from nodepipe.services.upkeep.doctor.survey import node_folders
from nodepipe.workspace.layout import WorkspaceLayout


def store_of_another_workspace(path: Path | None, what: str) -> DoctorReport:
    """The report of the workspace at ``path`` (None: the current folder's) whose store another
    workspace owns: ``what`` is the refusal, in the caller's words (naming both folders and the
    way out)."""
    layout = WorkspaceLayout(locate_workspace(path))
    finding = Finding(
        Category.STORE_OF_ANOTHER_WORKSPACE,
        str(layout.root),
        what + " (`nodepipe doctor --repair` changes nothing here: which store this folder "
        "uses is yours to choose)",
    )
    return DoctorReport((finding,), measure_disk(layout, node_folders(layout.nodes_dir)))
