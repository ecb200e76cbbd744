"""After a run that failed or was cancelled: the command that runs what it left undone.

The command names the nodes of the run that did not complete (failed, cancelled, skipped, or
never reached), in the order the run planned them, so it runs those and nothing else; it keeps
what decides how they run (``--force``, the executor, ``--jobs``) and the workspace given on
the command line. A name is the node's tag when no other node of the pipeline has it, else its
id; every word is quoted for the shell.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.runs import NodeRunState

if TYPE_CHECKING:
    from nodepipe.domain.runs import NodeRun
    from nodepipe.services.runs.service import RunRequest, RunResult


def undone(result: RunResult, node_runs: Sequence[NodeRun]) -> list[str]:
    """The planned nodes of the run that did not complete, in plan order."""
    completed = {nr.node_id for nr in node_runs if nr.state is NodeRunState.COMPLETED}
    return [node_id for node_id in result.plan.ids if node_id not in completed]


def resume_command(
    request: RunRequest, node_ids: Sequence[str], tags: dict[str, str], workspace: Path | None
) -> str:
    """``nodepipe run`` of ``request``'s pipeline for exactly ``node_ids``."""
    words = ["nodepipe"]
    if workspace is not None:
        words += ["-w", str(workspace)]
    words += ["run", request.pipeline, *_names(node_ids, tags)]
    if request.force:
        words.append("--force")
    if request.jobs is not None:
        words += ["--jobs", str(request.jobs)]
    if request.executor != "local":
        words += ["--executor", request.executor]
    if request.ray_address is not None:
        words += ["--ray-address", request.ray_address]
    if request.shared_fs is not None:
        words.append("--shared-fs" if request.shared_fs else "--no-shared-fs")
    if request.storage is not None:
        words += ["--storage", request.storage]
    return shlex.join(words)


def _names(node_ids: Sequence[str], tags: dict[str, str]) -> list[str]:
    uses = Counter(tags.values())
    return [tags[n] if uses[tags.get(n, n)] == 1 else n for n in node_ids]
