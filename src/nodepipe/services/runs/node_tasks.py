"""Building each node's task at the moment it can start, from the finished parents' outputs."""

from __future__ import annotations

import json
from typing import Final

from nodepipe.domain.errors import EnvironmentBuildError, NodepipeError
from nodepipe.domain.model import Edge, PipelineView
from nodepipe.domain.staleness import ParentOutput
from nodepipe.envs.node_env import SYNC_MARKER
from nodepipe.execution.run_files import point_latest_log
from nodepipe.execution.runner import PreparedTask
from nodepipe.execution.task_factory import EnvironmentSettings, ParentInput, build_task
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.runs.status import NodeStatusView
from nodepipe.workspace.fingerprint import fingerprint_and_scope
from nodepipe.workspace.node_config import NodeConfig
from nodepipe.workspace.node_folder import NodeFolder


class TaskPreparer:
    """Called by the runner when a node may start; fingerprints it against its parents' outputs.

    A parent that ran in this run contributes the digest it just produced; any other parent the
    digest of its last successful run. (A plain class: a dataclass costs a run's start about
    0.6 ms to make, its generated methods compiled at import, and nothing compares this.)
    """

    __slots__ = ("context", "node_run_ids", "run_id", "settings", "statuses", "view")

    def __init__(
        self,
        context: WorkspaceContext,
        run_id: str,
        view: PipelineView,
        statuses: dict[str, NodeStatusView],
        node_run_ids: dict[str, str],
        settings: EnvironmentSettings,
    ) -> None:
        self.context: Final = context
        self.run_id: Final = run_id
        self.view: Final = view
        self.statuses: Final = statuses
        self.node_run_ids: Final = node_run_ids
        self.settings: Final = settings

    @classmethod
    def for_run(
        cls,
        context: WorkspaceContext,
        run_id: str,
        view: PipelineView,
        statuses: dict[str, NodeStatusView],
        node_run_ids: dict[str, str],
    ) -> TaskPreparer:
        layout = context.layout
        settings = EnvironmentSettings(
            layout.uv_cache_dir,
            context.config.python,
            layout.lock_cache_dir,
            layout.shared_envs_dir,
            layout.staging_dir,
            layout.objects_dir,
            layout.conda_cache_dir,
        )
        return cls(context, run_id, view, statuses, node_run_ids, settings)

    def __call__(self, node_id: str, outputs: dict[str, str]) -> PreparedTask:
        """The node's task; NodepipeError when the node could not be checked (its run fails
        with that problem, which its node run's log says: ``logs NODE`` shows it, not the
        log of an earlier run)."""
        try:
            return self._prepare(node_id, outputs)
        except NodepipeError as exc:
            self._log_failure(node_id, exc)
            raise

    def _log_failure(self, node_id: str, error: NodepipeError) -> None:
        folder = self.context.layout.node_folder(node_id)
        if not folder.path.is_dir():  # a missing folder is not made again for a log
            return
        folder.logs.mkdir(exist_ok=True)
        log = folder.logs / f"{self.node_run_ids[node_id]}.log"
        detail = getattr(error, "detail", "")
        said = f"--- what uv said:\n{detail}\n" if detail else ""
        log.write_text(f"nodepipe could not prepare the node: {error}\n{said}", encoding="utf-8")
        point_latest_log(log)

    def _prepare(self, node_id: str, outputs: dict[str, str]) -> PreparedTask:
        layout = self.context.layout
        inputs = self.view.inputs(node_id)
        status = self.statuses[node_id]
        if status.config is None or status.fingerprint is None:
            problem = status.problem or "the node could not be checked"
            if status.problem_detail:
                raise EnvironmentBuildError(problem, detail=status.problem_detail)
            raise NodepipeError(problem)
        folder = layout.node_folder(node_id)
        config = status.config
        fingerprint = status.fingerprint
        relocked, checked = self._check_environment(folder, config)
        if relocked:
            entry = " ".join(config.command) if config.command else config.entry
            fingerprint, _ = fingerprint_and_scope(folder, {}, entry, folder.fingerprint_cache)
        fingerprint = fingerprint.with_parents(self._parent_outputs(inputs, outputs))
        fingerprint_text = json.dumps(fingerprint.to_dict())
        task = build_task(
            run_id=self.run_id,
            node_run_id=self.node_run_ids[node_id],
            node=status.item.node,
            folder=folder,
            config=config,
            params=fingerprint.params,
            parents=[
                ParentInput(
                    e.slot,
                    e.parent_id,
                    self.view.node(e.parent_id).node.tag,
                    layout.node_folder(e.parent_id).data,
                )
                for e in inputs
            ],
            settings=self.settings,
            fingerprint=fingerprint_text,
            environment_checked=checked,
        )
        return PreparedTask(task, fingerprint_text)

    def _check_environment(self, folder: NodeFolder, config: NodeConfig) -> tuple[bool, bool]:
        """(relocked, checked). Bring the lock of a node synced before in step with its
        project, if a project it installs from a folder changed (a library node's or
        snapshot's version): the fingerprint stored for the run then names the lock it runs
        with, and the node is not stale after it ("lock changed"); relocked: the lock changed.
        A node never synced is left to its sync (no ``uv lock --check`` for every new node).
        Checked: its environment was found synced from the lock as it is, in step, its conda
        prefix current: the executor need not look again (``NodeTask.environment_checked``)."""
        code = folder.code
        if config.interpreter is not None or config.shared_env is not None:
            return False, False
        if not (code / ".venv" / SYNC_MARKER).is_file():
            return False, False
        environments = self.context.environments
        synced, in_step = environments.sync_state(code)
        if in_step:
            return False, synced and environments.conda.is_current(code)
        before = (code / "uv.lock").read_bytes() if (code / "uv.lock").is_file() else None
        environments.bring_lock_in_step(code)
        return (code / "uv.lock").read_bytes() != before, False

    def _parent_outputs(
        self, inputs: tuple[Edge, ...], produced: dict[str, str]
    ) -> dict[str, ParentOutput]:
        """This run's fresh outputs where a parent ran; otherwise what the run started with."""
        return {
            e.slot: ParentOutput(
                e.parent_id,
                produced.get(e.parent_id) or self.statuses[e.parent_id].output_digest or "",
            )
            for e in inputs
        }
