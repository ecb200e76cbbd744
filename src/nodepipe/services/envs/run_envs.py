"""Use cases on what past node runs ran with: show it, and put its environment back.

Every node run records, as it starts, its locks, interpreter, platform and code (see
``workspace.run_environment``): the store keeps the hashes, the workspace's object store the
contents, once each. ``show`` reads one node run's record back, with the packages its locks
pin (uv's, and conda's with their channel and build); ``lock`` gives one stored lock's text
("which ffmpeg did run R use?" needs no restore); ``restore`` rebuilds the node's
environment exactly as that run had it: the run's ``pyproject.toml``, ``uv.lock`` and
``.python-version`` are written back and the environment synced from the lock with
``uv sync --frozen`` (nothing is resolved: with a warm uv cache it needs no network), all or
nothing as every environment edit is (``envs.edits``). A new node made from a past run is
``services.graph.node_restore``'s.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nodepipe.domain.environments import (
    CONDA_LOCK_KIND,
    LOCK_FILES,
    PRUNED_CODE,
    UV_LOCK,
    CodeManifest,
    CondaPackage,
    RunEnvironment,
)
from nodepipe.domain.errors import (
    AmbiguousNameError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from nodepipe.domain.model import Node
from nodepipe.domain.resolve import Candidate, resolve
from nodepipe.domain.runs import NodeRun, NodeRunState
from nodepipe.envs.edits import PROJECT_FILES
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.environments import EnvironmentService, EnvironmentView
from nodepipe.services.envs.isolation import remove_environment
from nodepipe.services.guards import check_node_editable
from nodepipe.workspace.conda_project import conda_locked_records
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.node_folder import NODE_PROJECT_NAME
from nodepipe.workspace.objects import MissingObjectError, ObjectStore
from nodepipe.workspace.run_environment import damaged_record, read_manifest
from nodepipe.workspace.uv_lock import locked_packages

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


@dataclass(frozen=True, slots=True)
class PastEnvironment:
    """What ``nodepipe runs --run RUN --node NODE`` shows: one node run's environment."""

    run_id: str
    node_run_id: str
    node_id: str
    tag: str
    state: NodeRunState
    started_at: datetime | None
    python: str
    interpreter: str
    """The interpreter's path ("" where the run did not record it)."""
    platform: str
    locks: dict[str, str]
    """Lock kind (``uv``, ``conda``) -> sha256 of the lock text."""
    packages: dict[str, str]
    """Every package the uv lock pins, with its version."""
    conda_packages: list[CondaPackage]
    """Every package the conda lock pins (none without one)."""
    code: str
    """sha256 of the code manifest."""
    files: dict[str, str]
    """Every file of ``code/`` as the run had it: path -> sha256."""
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredLock:
    """One lock a node run ran with, as stored: ``nodepipe runs --run R --node N --lock``."""

    run_id: str
    node_id: str
    tag: str
    kind: str
    """``uv`` or ``conda``."""
    file: str
    """Its name in ``code/``: ``uv.lock``, ``conda.lock``."""
    sha256: str
    text: str


@dataclass(frozen=True, slots=True)
class RunEnvironmentService:
    context: WorkspaceContext

    @property
    def objects(self) -> ObjectStore:
        return ObjectStore(self.context.layout.objects_dir)

    def show(self, node: str, run: str, pipeline: str | None = None) -> PastEnvironment:
        """What node ``node`` ran with in run ``run`` (an id or an unambiguous id prefix)."""
        with self.context.store.read() as session:
            target, node_run, environment = past_run(session, node, run, pipeline)
        with damaged_record(target.tag, node_run.run_id):
            manifest = read_manifest(self.objects, environment)
            uv_lock, conda_lock = (
                self._lock_bytes(environment, k) for k in (UV_LOCK, CONDA_LOCK_KIND)
            )
        packages = {k: v for k, v in locked_packages(uv_lock).items() if k != NODE_PROJECT_NAME}
        return PastEnvironment(
            run_id=node_run.run_id,
            node_run_id=node_run.id,
            node_id=target.id,
            tag=target.tag,
            state=node_run.state,
            started_at=node_run.started_at,
            python=environment.python,
            interpreter=environment.interpreter,
            platform=environment.platform,
            locks=dict(environment.locks),
            packages=packages,
            conda_packages=conda_locked_records(conda_lock) if conda_lock else [],
            code=environment.code,
            files=dict(manifest.files),
            params=_params(node_run),
        )

    def lock(
        self, node: str, run: str, kind: str = UV_LOCK, pipeline: str | None = None
    ) -> StoredLock:
        """The text of the ``kind`` lock (``uv``, ``conda``) ``node`` ran with in ``run``."""
        from nodepipe.domain.arguments import text_of

        if text_of(kind, "the lock's kind") not in LOCK_FILES:
            raise InvalidInputError(
                f"no lock kind {kind!r}: a node run has a {' or a '.join(LOCK_FILES)} lock"
            )
        with self.context.store.read() as session:
            target, node_run, environment = past_run(session, node, run, pipeline)
        if kind not in environment.locks:
            raise InvalidInputError(
                f"node {target.tag!r} ran with no {LOCK_FILES[kind]} in run {node_run.run_id}"
                f"; it ran with: {', '.join(LOCK_FILES[k] for k in sorted(environment.locks))}"
            )
        with damaged_record(target.tag, node_run.run_id):
            text = self._lock_bytes(environment, kind).decode("utf-8", errors="replace")
        return StoredLock(
            node_run.run_id,
            target.id,
            target.tag,
            kind,
            LOCK_FILES[kind],
            environment.locks[kind],
            text,
        )

    def _lock_bytes(self, environment: RunEnvironment, kind: str) -> bytes:
        """The stored text of one lock of ``environment`` (b"" when it had none)."""
        digest = environment.locks.get(kind)
        return self.objects.read(digest, LOCK_FILES[kind]) if digest is not None else b""

    def restore(self, node: str, run: str, pipeline: str | None = None) -> EnvironmentView:
        """Rebuild ``node``'s environment as run ``run`` had it: its pyproject, lock and Python
        request written back, then synced from the lock (frozen). Every stored content is read
        (and checked) before anything changes; a failed sync puts everything back."""
        with self.context.store.read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            target, node_run, environment = past_run(session, node, run, pipeline)
            check_node_editable(session, target, within)
        code = self.context.layout.node_folder(target.id).code
        with damaged_record(target.tag, node_run.run_id):
            project = self.project_files(read_manifest(self.objects, environment))
        for name in ("pyproject.toml", "uv.lock"):
            if name not in project:
                raise MissingObjectError(f"run {run!r} recorded no {name} for node {target.tag!r}")
        from nodepipe.services.envs.restored_libraries import check_libraries_present  # rare

        check_libraries_present(
            self.context, target.tag, node_run.run_id, project["pyproject.toml"], code
        )
        shared = read_node_config(code / "pyproject.toml").shared_env or _stored_setting(
            project, "shared-env"
        )
        if shared:
            raise ConflictError(
                f"node {target.tag!r} uses the shared environment {shared!r} (now or in that "
                "run): restoring works on a node's own environment"
            )
        environments = self.context.environments

        def edit() -> None:
            for name in PROJECT_FILES:
                if name in project:
                    write_atomic(code / name, project[name])
                elif (code / name).exists():
                    (code / name).unlink()

        interpreter = _stored_setting(project, "interpreter")  # the run had no environment
        environments.change(code, edit, sync=interpreter is None)
        if interpreter is not None:  # back on that interpreter: no environment of its own
            remove_environment(code / ".venv")
        return EnvironmentService(self.context).show(target.id)

    def project_files(self, manifest: CodeManifest) -> dict[str, bytes]:
        """The environment's project files (pyproject, lock, Python request) in ``manifest``,
        read back and checked."""
        return {
            name: self.objects.read(manifest.files[name], name)
            for name in PROJECT_FILES
            if name in manifest.files
        }


def past_run(
    session: StoreSession, node: str, run: str, pipeline: str | None = None
) -> tuple[Node, NodeRun, RunEnvironment]:
    """The node, its node run in ``run`` and what that node run started with; NotFoundError
    when the run or node is unknown or the node took no part in the run, InvalidInputError
    when the node run recorded nothing.

    The run fixes the pipeline: ``node`` is looked for among the nodes that took part in it
    first (a tag shown in other pipelines too is not ambiguous), then anywhere (to say it took
    no part)."""
    found = resolver.run(session, run)
    node_runs = {nr.node_id: nr for nr in session.node_runs_of_run(found.id)}
    target = _participant(session, node, node_runs, found.id, pipeline)
    node_run = node_runs[target.id]
    environment = session.run_environment(node_run.id)
    if environment is None:
        if node_run.pid is None:  # its process never started: nothing to record
            raise InvalidInputError(
                f"{target.tag!r} did not start in run {found.id} ({_why_not_started(node_run)}): "
                "nothing was recorded"
            )
        raise InvalidInputError(
            f"run {found.id} has no stored environment for node {target.tag!r}: that run was "
            "recorded before nodepipe kept environments"
        )
    if environment.code == PRUNED_CODE:
        raise InvalidInputError(
            f"the environment node {target.tag!r} ran with in run {found.id} was pruned "
            "(a collection of the run object store kept only newer runs of it): its "
            f"code and locks are no longer stored, only that it ran {_kept_facts(environment)}; "
            "restore a newer run of it"
        )
    return target, node_run, environment


def _kept_facts(environment: RunEnvironment) -> str:
    """What a pruned record still says: "Python 3.11.7 (/usr/bin/python3.11) on linux-x86_64
    glibc 2.36"."""
    where = f" ({environment.interpreter})" if environment.interpreter else ""
    python = f"Python {environment.python}{where}" if environment.python else "no Python"
    return f"{python} on {environment.platform}" if environment.platform else python


def _why_not_started(node_run: NodeRun) -> str:
    """Why a node run has no process: "could not prepare", "skipped: upstream a failed"…"""
    if node_run.state is NodeRunState.FAILED:  # failed with no process: nodepipe's failure
        return "could not prepare"
    return (
        f"{node_run.state.value}: {node_run.message}" if node_run.message else node_run.state.value
    )


def _participant(
    session: StoreSession,
    node: str,
    node_runs: Mapping[str, NodeRun],
    run_id: str,
    pipeline: str | None,
) -> Node:
    """The node ``node`` names among those that ran in run ``run_id`` (and are shown in
    ``pipeline``, if named)."""
    within = resolver.pipeline(session, pipeline) if pipeline else None
    ran = session.get_nodes(node_runs)
    shown = set(ran) if within is None else {n.id for n, _ in session.pipeline_members(within.id)}
    candidates = [Candidate(n.id, n.tag) for n in ran.values() if n.id in shown]
    try:
        return ran[resolve(node, candidates, "node", f"run {run_id}")]
    except AmbiguousNameError:
        raise
    except NotFoundError:
        try:
            elsewhere = resolver.node(session, node, within)
        except AmbiguousNameError:
            raise NotFoundError(f"no node {node!r} took part in run {run_id}") from None
        raise NotFoundError(f"node {elsewhere.tag!r} took no part in run {run_id}") from None


def _params(node_run: NodeRun) -> dict[str, Any]:
    try:
        params = json.loads(node_run.fingerprint or "{}").get("params", {})
    except (ValueError, AttributeError):
        return {}
    return dict(params) if isinstance(params, dict) else {}


def _stored_setting(project: dict[str, bytes], key: str) -> str | None:
    """A text setting of ``[tool.nodepipe]`` in a stored pyproject (``shared-env``: the
    shared environment it names; ``interpreter``: the existing interpreter), if any."""
    try:
        data = tomllib.loads(project["pyproject.toml"].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("tool", {}).get("nodepipe", {}).get(key)
    return value if isinstance(value, str) else None
