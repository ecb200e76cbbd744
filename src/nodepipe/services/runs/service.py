"""Use cases of running pipelines: status and why, plan (dry run), run, history, logs, kill."""

from __future__ import annotations

import builtins
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Final, NamedTuple

from nodepipe.domain.errors import (
    ConflictError,
    EnvironmentBuildError,
    Hint,
    InvalidInputError,
    NodepipeError,
    NotFoundError,
    StorageError,
)
from nodepipe.domain.names import listed
from nodepipe.domain.states import ACTIVE_STATES, NodeState
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.inline_metadata import has_own_python_entry, honour_inline_metadata
from nodepipe.services.gc_pause import gc_paused
from nodepipe.services.graph.effective import pipeline_view_and_stored
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.services.runs.executors import make_executor, run_storage
from nodepipe.services.runs.status import NodeStatusView, compute_statuses
from nodepipe.services.runs.travel import check_travels
from nodepipe.services.upkeep.crash_recovery import recover_after_crash
from nodepipe.workspace.crash_points import crash_point, pause_point
from nodepipe.workspace.durable import sync_filesystem

_RECENT_LOGS = 200
"""How many of a node's latest runs ``log`` looks at first (every one when a run is named that
is not among them)."""

if TYPE_CHECKING:  # what only a run, a plan or a kill needs is imported there (not by status)
    from nodepipe.domain.events import Listener, NodeFinished, RunEvent, RunFinished
    from nodepipe.domain.model import Node, Pipeline, PipelineView
    from nodepipe.domain.runs import NodeRun, Run
    from nodepipe.execution.plan import Plan, Selection
    from nodepipe.execution.recorder import RecordingError
    from nodepipe.execution.runner import Runner
    from nodepipe.services.runs.claims import Claim
    from nodepipe.store.graph_journal import Mark
    from nodepipe.store.light_read import LightReads

_ACTIVE_RUNNERS: dict[str, Runner] = {}
"""Runs orchestrated by this process, so a kill from the same process needs no signal."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run: the pipeline, the selection, and where and how its nodes run."""

    pipeline: str
    only: Sequence[str] | None = None
    from_: Sequence[str] | None = None
    to: Sequence[str] | None = None
    force: bool = False
    jobs: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    shared_fs: bool | None = None
    """False: Ray workers do not see the workspace (None: as nodepipe.toml says)."""
    storage: str | None = None
    """The object storage for workers without the workspace (None: as nodepipe.toml says)."""


class PipelineStatus:
    """A pipeline as the store has it and each node's state and reasons now.

    This, ``RunResult`` and ``RunService`` are plain classes: nothing compares them, and a
    dataclass costs every command's start about 0.6 ms to make (its generated methods are
    compiled when the module is imported)."""

    __slots__ = ("mark", "nodes", "view")

    def __init__(
        self, view: PipelineView, nodes: dict[str, NodeStatusView], mark: Mark | None = None
    ) -> None:
        self.view: Final = view
        self.nodes: Final = nodes
        """Each node's status, parents first (``topological_order``, as ``compute_statuses``
        gives them)."""
        self.mark: Final = mark
        """The graph journal's mark when the view was read (``graph_journal``): a claim asks
        what changed since, to plan again when another command changed the graph meanwhile."""

    def __repr__(self) -> str:
        states = {node.tag: node.state.value for node in self.nodes.values()}
        return f"PipelineStatus(pipeline={self.view.pipeline.tag!r}, states={states!r})"


class RunResult:
    """What a run request did: the plan, the run id (None when nothing needed to run), the end."""

    __slots__ = ("finished", "plan", "run_id", "status", "tags")

    def __init__(
        self,
        status: PipelineStatus,
        plan: Plan,
        run_id: str | None = None,
        finished: RunFinished | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.status: Final = status
        self.plan: Final = plan
        self.run_id: Final = run_id
        self.finished: Final = finished
        self.tags: Final[dict[str, str]] = {} if tags is None else tags

    def __repr__(self) -> str:
        planned = [self.tags.get(node_id, node_id) for node_id in self.plan.ids]
        return f"RunResult(run_id={self.run_id!r}, planned={planned!r}, finished={self.finished!r})"


class GuardedListener:
    """A listener the caller gave ``run`` (a progress display, a notebook callback), kept from
    harming the run: the first error it raises is warned about (``RuntimeWarning``, naming
    the event) and it is not called again in that run, which goes on and records its nodes as
    they end (a raising callback marked the node it was told about failed). Here, not in a
    module of its own: every run imports it."""

    __slots__ = ("failed", "listener")

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.failed = False

    def __call__(self, event: RunEvent) -> None:
        if self.failed:
            return
        try:
            self.listener(event)
        except Exception as error:
            self.failed = True
            import warnings

            warnings.warn(
                f"the run listener {self.listener!r} raised {type(error).__name__}: {error} "
                f"on {event.type} of run {event.run_id}; it is not called again in this run, "
                "which goes on",
                RuntimeWarning,
                stacklevel=2,
            )


class RunService:
    """Status, plan, run, history, logs and kill of pipelines."""

    __slots__ = ("context",)

    def __init__(self, context: WorkspaceContext) -> None:
        self.context: Final = context

    def recover(self) -> list[NodeRun]:
        """Settle what dead nodepipe processes left (see services.crash_recovery): their runs
        (returning the node runs marked interrupted) and their operations in flight."""
        return recover_after_crash(self.context)

    def status(self, pipeline: str) -> PipelineStatus:
        self.recover()
        with gc_paused(), self.context.store.light_read() as session:
            mark, _ = session.graph_changes(None)  # the transaction's first query
            found = resolver.pipeline(session, pipeline)
            view, stored = pipeline_view_and_stored(session, found)
            nodes = compute_statuses(self.context, session, view, stored=stored)
            return PipelineStatus(view, nodes, mark)

    def plan(self, request: RunRequest) -> RunResult:
        """What ``run`` would do, and why, without running or claiming anything."""
        _check_request(request)
        _check_jobs(request.jobs)
        status = self.status(request.pipeline)
        with self.context.store.light_read() as session:
            plan = self._plan(session, status, request)
        return RunResult(status, plan, tags=_tags(status.view))

    def run(
        self,
        request: RunRequest,
        listeners: Sequence[Listener] = (),
        on_start: Callable[[RunResult], None] | None = None,
    ) -> RunResult:
        """Run what is stale or never ran (everything selected with ``force``).

        ``on_start`` is told the run (its id, plan and tags) once its nodes are claimed and
        its executor is up, just before its first event. Should anything fail once the nodes
        are claimed and before the run starts (``on_start`` raising, Ctrl-C), the nodes go back
        to how they were and the run is recorded failed (cancelled), each node run saying why."""
        _check_request(request)
        _check_jobs(request.jobs)
        listeners = _checked_listeners(listeners)
        status = self.status(request.pipeline)
        changed, unprepared = self._honour_inline_metadata(status)
        if changed or unprepared:
            status = self.status(request.pipeline)  # an environment changed: look again
        status = _with_problems(status, unprepared)
        check_pipeline_editable(status.view.pipeline)
        jobs = request.jobs or os.cpu_count() or 1
        pipeline_tag = status.view.pipeline.tag
        with _hint_names(pipeline_tag, request):  # e.g. no object storage for remote workers
            storage = run_storage(
                request.executor,
                request.shared_fs,
                request.storage,
                self.context.config,
                self.context.layout.root,
            )
        tags = _tags(status.view)
        with gc_paused(), self.context.store.light_read() as session:
            plan = self._plan(session, status, request)
        if not plan:  # nothing to run: no executor made, nothing claimed, nothing written
            return RunResult(status, plan, tags=tags)
        if storage[1]:  # workers without the workspace: refused before anything starts
            check_travels(self.context, [status.nodes[node_id] for node_id in plan.ids])
        from nodepipe.execution.recorder import RecordingError, StoreRecorder
        from nodepipe.execution.runner import Runner
        from nodepipe.services.runs.claims import abandon, cancels, why_not_started
        from nodepipe.services.runs.node_tasks import TaskPreparer

        with _hint_names(pipeline_tag, request):  # e.g. no Ray cluster answers: nothing claimed
            executor = make_executor(
                request.executor, jobs, request.ray_address, storage, pull=not request.force
            )
        pause_point("run.planned")  # tests: another command edits the graph here
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                claim, plan = self._claim(status, request, jobs)
            except _GraphChangedError:  # another command changed the graph since it was read
                status = _with_problems(self.status(request.pipeline), unprepared)
                tags = _tags(status.view)
                continue
            break
        else:
            raise ConflictError(
                f"pipeline {pipeline_tag!r} kept changing while this run planned (other "
                "commands connecting, removing or adding its nodes); nothing was run: "
                "run again when they are done"
            )
        if claim is None:
            return RunResult(status, plan, tags=tags)
        run = claim.run
        crash_point("run.claimed")
        started = False
        try:  # anything failing before the run starts gives the nodes back (Ctrl-C too)
            with _hint_names(pipeline_tag, request):
                executor.start()
            started = True
            recorder = StoreRecorder(
                self.context.store,
                claim.previous,
                before_commit=self._flush_promotions,
                after_commit=self._promotions_recorded,
                on_error=lambda error: runner.cancel(None),  # nothing more can be kept
            )
            runner = Runner(
                executor,
                TaskPreparer.for_run(
                    self.context, run.id, status.view, status.nodes, claim.node_run_ids
                ),
                claim.node_run_ids,
                [recorder, *map(GuardedListener, listeners)],
                jobs,
                status.view.pipeline.id,
                tags,
            )
            _ACTIVE_RUNNERS[run.id] = runner  # a kill from on_start on reaches it
            if on_start is not None:
                on_start(RunResult(status, plan, run.id, tags=tags))
        except BaseException as error:
            _ACTIVE_RUNNERS.pop(run.id, None)
            if started:
                with contextlib.suppress(Exception):
                    executor.stop()
            reason = why_not_started(request.executor, error, executor_started=started)
            abandon(self.context.store, claim, reason, cancelled=cancels(error))
            raise
        unrecorded: RecordingError | None = None
        broken: BaseException | None = None
        try:
            with self._signals(runner, run.id):
                finished = runner.run(run.id, plan)
        except RecordingError as error:
            unrecorded = error
        except BaseException as error:
            broken = error
            raise
        finally:
            executor.stop()
            _ACTIVE_RUNNERS.pop(run.id, None)
            if broken is not None:  # its nodes stopped: the run must not stay running
                self._settle_broken(run.id, broken)
            if self.context.kept_facts is not None:
                self.context.kept_facts.save()
        if unrecorded is not None:
            raise self._unrecorded(run.id, unrecorded) from unrecorded
        return RunResult(status, plan, run.id, finished, tags)

    def _settle_broken(self, run_id: str, error: BaseException) -> None:
        """nodepipe failed under a run (its own error, not a node's): record the run failed, its
        unfinished nodes interrupted, as crash recovery would once this process is gone; a
        process that lives on (the web app) would otherwise show it running for ever."""
        from nodepipe.domain.runs import RunStatus
        from nodepipe.execution.recovery import settle_run

        reason = f"nodepipe failed under the run: {error or type(error).__name__}"
        with contextlib.suppress(Exception):
            settle_run(self.context.store, self.context.layout, run_id, RunStatus.FAILED, reason)

    def _unrecorded(self, run_id: str, error: RecordingError) -> StorageError:
        """The store failed under a run (a full disk): the run stopped at once; settle it now
        if the store takes writes again (its nodes failed, what completed kept), else the next
        command will."""
        from nodepipe.domain.runs import RunStatus
        from nodepipe.execution.recovery import settle_run

        reason = f"the store could not record the run: {error}"
        with contextlib.suppress(Exception):
            settle_run(self.context.store, self.context.layout, run_id, RunStatus.FAILED, reason)
        return StorageError(
            f"run {run_id} stopped: the store could not record it ({error}); free some space "
            "or repair the store, then run again"
        )

    def _flush_promotions(self, events: Sequence[RunEvent]) -> None:
        """These events are about to be recorded: the completed nodes' outputs, intents and
        swaps reach the disk first, all in one flush."""
        if _promotions(events):
            sync_filesystem(self.context.layout.nodes_dir)

    def _promotions_recorded(self, events: Sequence[RunEvent]) -> None:
        """The store holds these events: completed nodes' old outputs go, then (after a flush,
        so no old outputs outlive their intent on disk) the intents."""
        promotions = _promotions(events)
        if not promotions:
            return
        from nodepipe.workspace.output_swap import drop_intent, drop_previous

        folders = self.context.layout.node_folder
        for event in promotions:
            drop_previous(folders(event.node_id), event.node_run_id)
        sync_filesystem(self.context.layout.nodes_dir)
        for event in promotions:
            drop_intent(folders(event.node_id), event.node_run_id)

    def _honour_inline_metadata(self, status: PipelineStatus) -> tuple[bool, dict[str, Problem]]:
        """Nodes declaring packages inline (PEP 723) get them before anything is planned.

        Nodes that cannot be checked are left as they are (their runs fail and say why), and so
        is a node whose inline packages cannot be had (no such package, the index out of
        reach): it fails, named, its descendants are skipped, the other nodes run. Returns
        whether an environment had to change, and why each node that could not be prepared."""
        view = status.view
        owned = [
            item.node.id
            for item in view.nodes
            if item.node.owner_pipeline_id == view.pipeline.id
            and not item.node.locked
            and status.nodes[item.node.id].problem is None
        ]
        changed = False
        unprepared: dict[str, Problem] = {}
        for node_id in owned:
            config = status.nodes[node_id].config
            if config is not None and not has_own_python_entry(config):
                continue  # nothing inline to honour (no path made: 10,000 nodes, 30,000 paths)
            code = self.context.layout.node_dir(node_id) / "code"
            try:
                changed = honour_inline_metadata(self.context, code, config) or changed
            except EnvironmentBuildError as exc:
                unprepared[node_id] = Problem(
                    f"its inline script packages (PEP 723) cannot be had: {exc}", exc.detail
                )
        return changed, unprepared

    def _plan(self, session: LightReads, status: PipelineStatus, request: RunRequest) -> Plan:
        """The plan from the nodes as ``status`` read them: one snapshot with the reasons it
        computed (not 10,000 rows read again); a claim plans again from the rows of its write
        transaction (``_claim``)."""
        nodes = {item.node.id: item.node for item in status.view.nodes}
        return self._plan_of(session, status, request, nodes)

    def _plan_with_nodes(
        self, session: LightReads, status: PipelineStatus, request: RunRequest
    ) -> tuple[Plan, dict[str, Node]]:
        """The plan, and the pipeline's nodes as the store has them now."""
        fresh = session.get_nodes(status.view.node_ids)
        return self._plan_of(session, status, request, fresh), fresh

    def _plan_of(
        self,
        session: LightReads,
        status: PipelineStatus,
        request: RunRequest,
        nodes: Mapping[str, Node],
    ) -> Plan:
        """The plan with each node's stored state and lock as ``nodes`` has them."""
        from nodepipe.execution.plan import NodeStatus, plan_run  # not for status

        view = status.view
        statuses = []
        for node_id, computed in status.nodes.items():  # parents first (compute_statuses)
            item, node = view.node(node_id), nodes[node_id]
            statuses.append(
                NodeStatus(
                    node_id,
                    item.node.tag,
                    _planned_state(node.state, item.node.state, computed.state),
                    computed.own_reasons,
                    item.is_reference,
                    node.locked,
                    computed.problem,
                )
            )
        selection = self._selection(session, view.pipeline, request)
        busy = [s.node_id for s in statuses if s.state in ACTIVE_STATES]
        holders = _holders(session, busy) if busy else None
        return plan_run(statuses, view.edges, selection, request.force, list(status.nodes), holders)

    @staticmethod
    def _selection(session: LightReads, pipeline: Pipeline, request: RunRequest) -> Selection:
        from nodepipe.execution.plan import Selection

        def ids(names: Sequence[str] | None) -> frozenset[str] | None:
            if names is None:
                return None
            return frozenset(n.id for n in resolver.nodes(session, names, pipeline))

        return Selection(only=ids(request.only), from_=ids(request.from_), to=ids(request.to))

    def _claim(
        self, status: PipelineStatus, request: RunRequest, jobs: int
    ) -> tuple[Claim | None, Plan]:
        """Plan and claim the planned nodes in one write transaction (no double runs)."""
        from nodepipe.services.runs.claims import claim_planned

        with self.context.store.run_write() as session:
            if not _same_graph(session, status):
                raise _GraphChangedError
            plan, nodes = self._plan_with_nodes(session, status, request)
            if not plan:
                return None, plan
            claim = claim_planned(
                session,
                status.view.pipeline,
                plan,
                nodes,
                executor=request.executor,
                jobs=jobs,
                force=request.force,
            )
            return claim, plan

    @contextmanager
    def _signals(self, runner: Runner, run_id: str) -> Iterator[None]:
        """Ctrl-C or SIGTERM cancel the run; SIGUSR1 means `nodepipe kill` asked for nodes."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def cancel_all(signum: int, frame: FrameType | None) -> None:
            runner.cancel(None)

        def cancel_requested(signum: int, frame: FrameType | None) -> None:
            with self.context.store.read() as session:
                wanted = [
                    nr.node_id for nr in session.node_runs_of_run(run_id) if nr.cancel_requested
                ]
            if wanted:
                runner.cancel(wanted)

        saved = {
            sig: signal.signal(sig, handler)
            for sig, handler in (
                (signal.SIGINT, cancel_all),
                (signal.SIGTERM, cancel_all),
                (signal.SIGUSR1, cancel_requested),
            )
        }
        try:
            yield
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    @contextmanager
    def kills_heard(self) -> Iterator[None]:
        """While inside, ``nodepipe kill`` from another process reaches the runs this process
        runs in other threads (the web app's): SIGUSR1 cancels the nodes marked for it in
        every run going on here. Only from the main thread (where handlers are set)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def cancel_requested(signum: int, frame: FrameType | None) -> None:
            for run_id, runner in list(_ACTIVE_RUNNERS.items()):
                try:
                    with self.context.store.read() as session:
                        runs = session.node_runs_of_run(run_id)
                except Exception:  # the store out of reach: this kill is not heard, the app lives
                    continue
                wanted = [nr.node_id for nr in runs if nr.cancel_requested]
                if wanted:
                    runner.cancel(wanted)

        saved = signal.signal(signal.SIGUSR1, cancel_requested)
        try:
            yield
        finally:
            signal.signal(signal.SIGUSR1, saved)

    # history, logs, kill -------------------------------------------------------------------
    def history(self, pipeline: str | None = None, limit: int = 50) -> builtins.list[Run]:
        from nodepipe.domain.runs import check_limit

        check_limit(limit, 1000)
        self.recover()
        with self.context.store.light_read() as session:
            pipeline_id = resolver.pipeline(session, pipeline).id if pipeline else None
            return session.list_runs(pipeline_id, limit)

    def node_runs(self, run_id: str) -> builtins.list[NodeRun]:
        with self.context.store.read() as session:
            return session.node_runs_of_run(resolver.run(session, run_id).id)

    def node_history(self, node: str, pipeline: str | None = None) -> builtins.list[NodeRun]:
        with self.context.store.light_read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            return session.node_runs_of_node(resolver.node(session, node, within).id)

    def log(self, node: str, run_id: str | None = None, pipeline: str | None = None) -> NodeRun:
        """The node run whose log to show: the latest one, or the one of ``run_id``."""
        with self.context.store.light_read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            target = resolver.node(session, node, within)
            logs = self.context.layout.node_folder(target.id).logs

            def logged(limit: int) -> builtins.list[NodeRun]:
                return [
                    nr if nr.log_file else replace(nr, log_file=str(logs / f"{nr.id}.log"))
                    for nr in session.node_runs_of_node(target.id, limit)
                    if nr.log_file or (logs / f"{nr.id}.log").is_file()  # a failed preparation's
                ]

            history = logged(_RECENT_LOGS)
            if not history:
                suffix = f" in run {run_id}" if run_id else ""
                raise NotFoundError(f"node {target.tag!r} has no log{suffix}: it never ran")
            if run_id is None:
                return history[0]
            chosen = [nr for nr in history if nr.run_id.startswith(run_id)]
            if not chosen:  # a run older than the recent ones, perhaps: look at every one
                chosen = [nr for nr in logged(sys.maxsize) if nr.run_id.startswith(run_id)]
            if not chosen:
                runs = ", ".join(dict.fromkeys(nr.run_id for nr in history[:5]))
                raise NotFoundError(
                    f"node {target.tag!r} did not run in run {run_id!r}; its latest runs: {runs}"
                )
            matched = list(dict.fromkeys(nr.run_id for nr in chosen))
            if len(matched) > 1:
                raise InvalidInputError(
                    f"{run_id!r} is the start of several runs of node {target.tag!r} "
                    f"({', '.join(matched[:5])}); give more of the run's id"
                )
            return chosen[0]

    def kill(
        self, nodes: Sequence[str] = (), pipeline: str | None = None
    ) -> builtins.list[NodeRun]:
        """Cancel the queued or running node runs of ``nodes`` (or of the whole pipeline)."""
        nodes = listed(nodes, "the nodes to kill")
        self.recover()
        with self.context.store.write() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            if nodes:
                targets = {n.id for n in resolver.nodes(session, nodes, within)}
            elif within is not None:
                targets = {n.id for n in session.list_nodes(within.id)}
            else:
                raise InvalidInputError(
                    "say which nodes to kill, or the pipeline whose nodes to kill"
                )
            active = session.active_node_runs(targets)
            if not active:
                raise ConflictError("nothing to kill: none of these nodes is queued or running")
            for node_run in active:
                session.update_node_run(node_run.id, cancel_requested=True)
            runs = {nr.run_id: session.get_run(nr.run_id) for nr in active}
        for run_id, run in runs.items():
            ids = [nr.node_id for nr in active if nr.run_id == run_id]
            if run_id in _ACTIVE_RUNNERS:
                _ACTIVE_RUNNERS[run_id].cancel(ids)
            elif run is not None and _another_live_orchestrator(run):
                os.kill(run.orchestrator_pid, signal.SIGUSR1)
        self.recover()
        return active


def _planned_state(stored: NodeState, seen: NodeState, computed: NodeState) -> NodeState:
    """The state the plan goes by: the stored one, except a node stored stale whose status
    found nothing left that makes it so (what made it stale was undone, its outputs accepted
    by hand): it is completed there, as every surface shows it. ``seen``: the stored state
    the status was computed from; a state changed since (another run) is taken as stored."""
    if stored is NodeState.STALE and seen is stored and computed is NodeState.COMPLETED:
        return NodeState.COMPLETED
    return stored


@contextmanager
def _hint_names(pipeline_tag: str, request: RunRequest) -> Iterator[None]:
    """A nodepipe error raised inside gets ``pipeline`` among its hint's parameters, so that its
    command names this pipeline (an executor does not know it); advice to run again another
    way gets the options the user gave too (``request_hints``), so that it repeats them."""
    try:
        yield
    except NodepipeError as error:
        if error.hint is not None:
            from nodepipe.services.runs.request_hints import REQUEST_ACTIONS, request_params

            named = {"pipeline": pipeline_tag, **error.hint.params}
            if error.hint.action in REQUEST_ACTIONS:
                named = {**request_params(request), **named}
            error.hint = Hint(error.hint.action, named)
        raise


def _another_live_orchestrator(run: Run) -> bool:
    """Whether another live process of this machine and PID namespace orchestrates ``run``
    and hears ``nodepipe kill``'s SIGUSR1 (a handler for it): never this one, whose runs are
    in ``_ACTIVE_RUNNERS``, nor a pid recorded where it names another process, nor one that
    would be ended by the signal instead (a run in a thread of a program that does not hear
    kills: its nodes are marked, and it is settled once it ends)."""
    from nodepipe.execution.recovery import catches, orchestrated_here

    pid = run.orchestrator_pid
    return pid != os.getpid() and orchestrated_here(run) and catches(pid, signal.SIGUSR1)


def _promotions(events: Sequence[RunEvent]) -> list[NodeFinished]:
    from nodepipe.domain.events import NodeFinished
    from nodepipe.domain.runs import RunOutcome

    return [
        e
        for e in events
        if isinstance(e, NodeFinished) and e.outcome.status is RunOutcome.COMPLETED
    ]


def _tags(view: PipelineView) -> dict[str, str]:
    return {item.node.id: item.node.tag for item in view.nodes}


class Problem(NamedTuple):
    """Why a node cannot run, and uv's full output behind it (for the node's log)."""

    reason: str
    detail: str = ""


def _holders(session: LightReads, busy: Sequence[str]) -> dict[str, str]:
    """The run each of the ``busy`` (queued or running) nodes belongs to, as a plan names it
    (``run 6rbt6dsh of 'etl' (ana, pid 4242 on lab1)``), so that a user whose run leaves a node
    to another knows whose it is and what to wait for or kill. One query when one run is going
    on (the usual case), else one per node."""
    from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, RunStatus

    going = {run.id: run for run in session.runs_with_status(RunStatus.RUNNING)}
    if not going:
        return {}
    if len(going) == 1:
        (only,) = going.values()
        held = dict.fromkeys(busy, only)
    else:
        held = {}
        for node_id in busy:
            latest = session.node_runs_of_node(node_id, limit=1)
            if latest and latest[0].state in ACTIVE_NODE_RUN_STATES:
                run = going.get(latest[0].run_id)
                if run is not None:
                    held[node_id] = run
    from nodepipe.execution.recovery import host_name

    return {
        node_id: f"run {run.id} of {run.pipeline_tag!r} ({run.requested_by}, pid "
        f"{run.orchestrator_pid} on {host_name(run.orchestrator_host)})"
        for node_id, run in held.items()
    }


_CLAIM_ATTEMPTS = 5
"""How many times a run reads its pipeline again, when other commands change its graph between
the read and the claim, before it gives up saying so."""


class _GraphChangedError(Exception):
    """The pipeline's graph is not the one its status was computed from (``_same_graph``)."""


def _same_graph(session: LightReads, status: PipelineStatus) -> bool:
    """Whether the pipeline shows the same nodes joined by the same edges as when ``status``
    read it: a claim from an older graph would run a node removed since, or feed a node the
    inputs it no longer has. The journal answers at once when no node changed (the usual
    case); otherwise the nodes and edges are compared."""
    view = status.view
    if status.mark is not None:
        _, changed = session.graph_changes(status.mark)
        if changed is not None and not changed:
            return True
    pipeline_id = view.pipeline.id
    shown = {node.id for node in session.list_nodes(pipeline_id)}
    if shown != set(view.node_ids):
        return False
    edges = {(edge.parent_id, edge.child_id, edge.slot) for edge in view.edges}
    return set(session.edge_rows(pipeline_id)) == edges


def _with_problems(status: PipelineStatus, problems: dict[str, Problem]) -> PipelineStatus:
    """``status`` with each node of ``problems`` unable to run, for that reason (its run
    fails and says so, its log keeps uv's full output; the nodes below it are skipped)."""
    if not problems:
        return status
    nodes = dict(status.nodes)
    for node_id, problem in problems.items():
        nodes[node_id] = replace(
            nodes[node_id],
            state=NodeState.FAILED,
            reasons=(problem.reason,),
            own_reasons=(problem.reason,),
            fingerprint=None,
            config=None,
            problem=problem.reason,
            problem_detail=problem.detail,
        )
    return PipelineStatus(status.view, nodes, status.mark)


def _check_request(request: object) -> None:
    """Refuse a request that is not a RunRequest (a pipeline's name given as it is)."""
    if not isinstance(request, RunRequest):
        raise InvalidInputError(
            f"a run is asked for with a RunRequest, like RunRequest({request!r}), not {request!r}"
        )


def _check_jobs(jobs: int | None) -> None:
    """Refuse a number of nodes at once that is not a whole number from 1 to ``MAX_JOBS``."""
    from nodepipe.domain.runs import check_jobs

    check_jobs(jobs, "nodes")


def _checked_listeners(listeners: object) -> list[Listener]:
    """``listeners`` as a list of callables, refused otherwise before anything is claimed (one
    callable given alone failed once the nodes were claimed, leaving them queued)."""
    expected = "give the run listeners as a list of callables, like listeners=[print]"
    if callable(listeners):
        name = getattr(listeners, "__name__", None) or repr(listeners)
        raise InvalidInputError(f"{expected}, not the one callable {name}: use [{name}]")
    if isinstance(listeners, str | bytes):
        raise InvalidInputError(f"{expected}, not the text {listeners!r}")
    try:
        given: list[Listener] = list(listeners)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidInputError(f"{expected}, not {listeners!r}") from None
    for item in given:
        if not callable(item):
            raise InvalidInputError(f"{expected}; {item!r} among them is not callable")
    return given
