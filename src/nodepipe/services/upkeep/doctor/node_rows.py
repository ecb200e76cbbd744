"""Node folders and node rows that lost each other.

A folder without a row (its row was never committed by an old nodepipe, or a restored backup
predates it) may hold hours of outputs, so doctor never deletes it: ``--repair`` adopts it into
the pipeline ``recovered`` (``adoption``), where it can be looked at, used, or removed with
``nodepipe pipeline rm recovered``. A folder that an operation names is that operation's
business (it is removed or kept when the operation is recovered), never an orphan.

A row without a folder keeps its metadata (edges, history, who used it): ``--repair`` marks
the node ``failed`` with the reason ``folder missing: PATH``, so every surface shows why it
cannot run; ``nodepipe node rm`` removes it.
"""

from __future__ import annotations

from nodepipe.domain.states import ACTIVE_STATES, NodeState
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.upkeep.doctor.adoption import RECOVERED, describe_folder
from nodepipe.services.upkeep.doctor.findings import Category, Finding
from nodepipe.services.upkeep.doctor.survey import Survey
from nodepipe.workspace.disk_usage import disk_used

MISSING_REASON = "folder missing: "
ADOPT = f"adopt into the pipeline {RECOVERED!r}"


def find_orphan_folders(survey: Survey) -> list[Finding]:
    found = []
    for node_id, folder in survey.folders.items():
        if node_id in survey.rows or survey.untouchable(folder, node_id):
            continue
        complete = (folder / "code" / "pyproject.toml").is_file()
        what = describe_folder(folder) if complete else "not a node folder (no code/pyproject.toml)"
        found.append(
            Finding(
                Category.ORPHAN_FOLDERS,
                str(folder),
                what if complete else f"{what}; left alone, remove it by hand if unwanted",
                disk_used(folder),
                ADOPT if complete else None,
                node_id,
            )
        )
    return found


def find_missing_folders(survey: Survey) -> list[Finding]:
    layout = survey.context.layout
    found = []
    for node_id, node in survey.rows.items():
        folder = layout.node_dir(node_id)
        if (
            node_id in survey.folders
            or node.state in ACTIVE_STATES
            or survey.live.covers(folder, node_id)
        ):
            continue
        marked = node.state is NodeState.FAILED and node.state_reason.startswith(MISSING_REASON)
        found.append(
            Finding(
                Category.MISSING_FOLDERS,
                str(folder),
                f"node {node.tag!r} ({node_id})"
                + ("; marked failed (remove it with `nodepipe node rm`)" if marked else ""),
                0,
                None if marked else "mark the node failed: folder missing",
                node_id,
            )
        )
    return found


def mark_missing(context: WorkspaceContext, node_id: str) -> bool:
    """Mark the node failed because its folder is missing (checked again in the transaction);
    True if it was marked."""
    folder = context.layout.node_dir(node_id)
    with context.store.write() as session:
        node = session.get_node(node_id)
        if node is None or node.state in ACTIVE_STATES or folder.exists():
            return False
        session.update_node(
            node_id, state=NodeState.FAILED, state_reason=f"{MISSING_REASON}{folder}"
        )
    return True
