"""What a code-first materialise did, written down before it does it, so it can be undone.

``services.graph.materialize`` runs as one operation of the workspace journal
(``workspace.journal``). Before each change it records how to undo it (write-ahead): a pipeline
about to be created, the code, parameter and environment files of the nodes it may change
(copied into the operation's folder), the pipeline's base packages, the tags of the nodes it
is about to make, each node it is about to take over (its record as one it made), each edge it is
about to remove or add, each copy of edits it keeps. When a step fails, the log is undone
in the same process; when the process is killed, the next command finds the operation
abandoned and undoes it the same way (``recover_materialize``), so a materialise leaves all of
it or none. Undoing a step that never happened does nothing (each undo step tolerates it).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.domain.errors import NotFoundError
from nodepipe.envs.edits import PROJECT_FILES, UNDONE_EDITS
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace import journal
from nodepipe.workspace.durable import sync_filesystem, write_atomic
from nodepipe.workspace.materialized_record import forget_materialized

MATERIALIZE_KIND = "materialize"
"""Journal operations materialising a pipeline: ``steps`` says how to undo what was begun."""
SAVED_FILES = ("main.py", "params.yaml", *PROJECT_FILES)
"""The files of a node a materialise may change, saved before it does."""
_SAVED_DIR = "saved"


@dataclass
class UndoLog:
    """The undo steps of one materialise, on disk (in its journal intent) before each change."""

    context: WorkspaceContext
    operation: journal.Operation
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: dict[str, Any]) -> None:
        """Record ``step`` (flushed) before doing what it undoes."""
        self.steps.append(step)
        self.operation.record(steps=self.steps)

    def amend(self, **values: Any) -> None:
        """Add what became known to the last step (the id of the pipeline just created)."""
        self.steps[-1] = {**self.steps[-1], **values}
        self.operation.record(steps=self.steps)

    def save_files(self, node_ids: list[str]) -> None:
        """Copy the nodes' ``SAVED_FILES`` into the operation's folder (one flush for all),
        then record them."""
        if not node_ids:
            return
        saved: list[dict[str, Any]] = []
        for node_id in node_ids:
            code = self.context.layout.node_folder(node_id).code
            absent = []
            for name in SAVED_FILES:
                try:
                    content = (code / name).read_bytes()
                except FileNotFoundError:
                    absent.append(name)
                    continue
                backup = self.operation.folder / _SAVED_DIR / node_id / name
                backup.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(backup, content, durable=False)
            saved.append({"step": "files", "node": node_id, "absent": absent})
        sync_filesystem(self.operation.folder)
        self.steps.extend(saved)
        self.operation.record(steps=self.steps)

    def saved_folder(self, node_id: str) -> Path:
        """Where ``save_files`` copied the node's files (missing if it had none of them)."""
        return self.operation.folder / _SAVED_DIR / node_id

    def done(self) -> None:
        """Everything is made: a crash from here on keeps it."""
        self.operation.record(done=True)

    def undo(self, *, sync: bool) -> None:
        """Undo every recorded step, the last first, each as far as it can be; ``sync`` brings
        the environments of nodes whose files were put back in step with them at once (a
        recovery leaves that to the next run, which syncs an environment its lock outgrew)."""
        for step in reversed(self.steps):
            with contextlib.suppress(Exception):
                self._undo(step, sync)

    def _undo(self, step: dict[str, Any], sync: bool) -> None:
        from nodepipe.services.envs.environments import EnvironmentService
        from nodepipe.services.graph.edges import EdgeService
        from nodepipe.services.graph.nodes import NodeService
        from nodepipe.services.graph.pipelines import PipelineService

        kind, context = step.get("step"), self.context
        if kind == "connected":
            EdgeService(context).disconnect(step["parent"], step["child"], step["pipeline"])
        elif kind == "disconnected":
            EdgeService(context).connect(
                step["parent"], step["child"], step["pipeline"], step["slot"]
            )
        elif kind == "nodes":
            made = self._made(step["pipeline"], set(step["tags"]), set(step["before"]))
            if made:
                NodeService(context).delete(made, step["pipeline"])
        elif kind == "files":
            if self._put_back(step["node"], step["absent"]) and sync:
                EnvironmentService(context).sync(step["node"])
        elif kind == "adopted":
            forget_materialized(context.layout.node_dir(step["node"]))
            if step.get("kept"):  # the copy of its code it made: the code itself is put back
                _remove_kept(Path(step["kept"]))
        elif kind == "kept":  # a copy of edits it replaced: the edits themselves are put back
            _remove_kept(Path(step["kept"]))
        elif kind == "moved":
            PipelineService(context).move(step["pipeline"], step["project"])
        elif kind == "base":
            with context.store.write() as session:
                session.update_pipeline(step["pipeline"], base_packages=tuple(step["packages"]))
        elif kind == "pipeline":
            with contextlib.suppress(NotFoundError):  # killed before it was created
                PipelineService(context).delete(step.get("id") or step["tag"])

    def _made(self, pipeline_id: str, tags: set[str], before: set[str]) -> list[str]:
        """The nodes of the pipeline tagged as the materialise's new ones that it did not own
        before: those it made."""
        with self.context.store.read() as session:
            return [
                node.id
                for node, _ in session.pipeline_members(pipeline_id)
                if node.owner_pipeline_id == pipeline_id
                and node.tag in tags
                and node.id not in before
            ]

    def _put_back(self, node_id: str, absent: list[str]) -> bool:
        """The node's saved files as they were; True when one of them had changed."""
        code = self.context.layout.node_folder(node_id).code
        saved = self.operation.folder / _SAVED_DIR / node_id
        changed = False
        for name in SAVED_FILES:
            current = _read(code / name)
            if name in absent:
                if current is not None:
                    (code / name).unlink()
                    changed = True
                continue
            content = _read(saved / name)
            if content is not None and content != current:
                write_atomic(code / name, content)
                changed = True
        return changed


def recover_materialize(context: WorkspaceContext, operation: journal.Operation) -> None:
    """Undo the materialise a killed process left half-done (kept when it had finished)."""
    if operation.intent.get("done"):
        return
    steps = [step for step in operation.intent.get("steps", []) if isinstance(step, dict)]
    UndoLog(context, operation, steps).undo(sync=False)


def _remove_kept(kept: Path) -> None:
    """Delete the copy an undone take-over made, and ``undone-edits/`` if that leaves it empty."""
    shutil.rmtree(kept, ignore_errors=True)
    if kept.parent.name == UNDONE_EDITS:
        with contextlib.suppress(OSError):
            kept.parent.rmdir()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
