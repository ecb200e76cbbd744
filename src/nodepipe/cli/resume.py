"""After a run that failed or was cancelled: the command that runs what it left undone.

The command names the nodes of the run that did not complete (failed, cancelled, skipped, or
never reached), in the order the run planned them, so it runs those and nothing else; it keeps
what decides how they run (``--force``, the executor, ``--jobs``) and the workspace given on
the command line. A name is the node's tag when no other node of the pipeline has it, else its
id; every word is quoted for the shell. The advice about a Ray cluster that cannot be reached
repeats the user's own command the same way (``ray_commands``).
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.runs import NodeRunState
from nodepipe.domain.url_credentials import text_without_credentials

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
    selected = replace(request, only=_names(node_ids, tags), from_=None, to=None)
    return shlex.join(run_words(selected, workspace))


def run_words(request: RunRequest, workspace: Path | None) -> list[str]:
    """``request`` as the ``nodepipe run`` command that asks for it, word by word: the
    workspace given, the selection (NODES, ``--from``, ``--to``) and every option that decides
    how its nodes run, as the user gave them."""
    words = ["nodepipe"]
    if workspace is not None:
        words += ["-w", str(workspace)]
    words += ["run", request.pipeline, *(request.only or ())]
    words += [word for node in request.from_ or () for word in ("--from", node)]
    words += [word for node in request.to or () for word in ("--to", node)]
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
    return words


def ray_commands(request: RunRequest, workspace: Path | None) -> dict[str, str]:
    """The two runs the advice about an unreachable Ray cluster offers, each as the user's own
    command (``run_words``, after ``nodepipe``) quoted for the shell: ``ray_run`` on the
    cluster at an address to fill in (``HOST:PORT``), ``local_run`` with the local executor
    (no Ray options). A URL's credentials are left out, as a hint repeating what was typed
    leaves them out."""
    on_ray = replace(request, executor="ray", ray_address="HOST:PORT")
    local = replace(request, executor="local", ray_address=None, shared_fs=None)
    return {
        name: shlex.join(text_without_credentials(word) for word in run_words(asked, workspace)[1:])
        for name, asked in (("ray_run", on_ray), ("local_run", local))
    }


def _names(node_ids: Sequence[str], tags: dict[str, str]) -> list[str]:
    uses = Counter(tags.values())
    return [tags[n] if uses[tags.get(n, n)] == 1 else n for n in node_ids]
