"""Use cases on what past node runs ran with: show it, and put its environment back.

Every node run records, as it starts, its locks, interpreter, platform and code (see
``workspace.run_environment``): the store keeps the hashes, the workspace's object store the
contents, once each. ``show`` reads one node run's record back; ``restore`` rebuilds the node's
environment exactly as that run had it: the run's ``pyproject.toml``, ``uv.lock`` and
``.python-version`` are written back and the environment synced from the lock with
``uv sync --frozen`` (nothing is resolved: with a warm uv cache it needs no network), all or
nothing as every environment edit is (``envs.edits``). A new node made from a past run is
``services.graph.node_restore``'s.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodepipe.domain.environments import UV_LOCK, CodeManifest, RunEnvironment
from nodepipe.domain.errors import ConflictError, NotFoundError
from nodepipe.domain.model import Node
from nodepipe.domain.runs import NodeRun, NodeRunState
from nodepipe.envs.edits import PROJECT_FILES
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.environments import EnvironmentService, EnvironmentView
from nodepipe.services.guards import check_node_editable
from nodepipe.store.queries import StoreSession
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.node_folder import NODE_PROJECT_NAME
from nodepipe.workspace.objects import MissingObjectError, ObjectStore
from nodepipe.workspace.run_environment import read_manifest
from nodepipe.workspace.uv_lock import locked_packages


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
    platform: str
    locks: dict[str, str]
    """Lock kind (``uv``) -> sha256 of the lock text."""
    packages: dict[str, str]
    """Every package the uv lock pins, with its version."""
    code: str
    """sha256 of the code manifest."""
    files: dict[str, str]
    """Every file of ``code/`` as the run had it: path -> sha256."""
    params: dict[str, Any]


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
        manifest = read_manifest(self.objects, environment)
        lock = (
            self.objects.read(environment.locks[UV_LOCK]) if UV_LOCK in environment.locks else b""
        )
        packages = {k: v for k, v in locked_packages(lock).items() if k != NODE_PROJECT_NAME}
        return PastEnvironment(
            run_id=node_run.run_id,
            node_run_id=node_run.id,
            node_id=target.id,
            tag=target.tag,
            state=node_run.state,
            started_at=node_run.started_at,
            python=environment.python,
            platform=environment.platform,
            locks=dict(environment.locks),
            packages=packages,
            code=environment.code,
            files=dict(manifest.files),
            params=_params(node_run),
        )

    def restore(self, node: str, run: str, pipeline: str | None = None) -> EnvironmentView:
        """Rebuild ``node``'s environment as run ``run`` had it: its pyproject, lock and Python
        request written back, then synced from the lock (frozen). Every stored content is read
        (and checked) before anything changes; a failed sync puts everything back."""
        with self.context.store.read() as session:
            within = resolver.pipeline(session, pipeline) if pipeline else None
            target, _, environment = past_run(session, node, run, pipeline)
            check_node_editable(session, target, within)
        code = self.context.layout.node_folder(target.id).code
        project = self.project_files(read_manifest(self.objects, environment))
        for name in ("pyproject.toml", "uv.lock"):
            if name not in project:
                raise MissingObjectError(f"run {run!r} recorded no {name} for node {target.tag!r}")
        shared = read_node_config(code / "pyproject.toml").shared_env or _shared(project)
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

        environments.change(code, edit)
        return EnvironmentService(self.context).show(target.id)

    def project_files(self, manifest: CodeManifest) -> dict[str, bytes]:
        """The environment's project files (pyproject, lock, Python request) in ``manifest``,
        read back and checked."""
        return {
            name: self.objects.read(manifest.files[name])
            for name in PROJECT_FILES
            if name in manifest.files
        }


def past_run(
    session: StoreSession, node: str, run: str, pipeline: str | None = None
) -> tuple[Node, NodeRun, RunEnvironment]:
    """The node, its node run in ``run`` and what that node run started with; NotFoundError
    saying why when any of them is missing."""
    within = resolver.pipeline(session, pipeline) if pipeline else None
    target = resolver.node(session, node, within)
    found = resolver.run(session, run)
    node_run = next(
        (nr for nr in session.node_runs_of_run(found.id) if nr.node_id == target.id), None
    )
    if node_run is None:
        raise NotFoundError(f"node {target.tag!r} took no part in run {found.id}")
    environment = session.run_environment(node_run.id)
    if environment is None:
        if node_run.started_at is None:
            why = f"it did not start in that run ({node_run.state.value})"
        else:
            why = "that run was recorded before nodepipe kept environments"
        raise NotFoundError(
            f"run {found.id} has no stored environment for node {target.tag!r}: {why}"
        )
    return target, node_run, environment


def _params(node_run: NodeRun) -> dict[str, Any]:
    try:
        params = json.loads(node_run.fingerprint or "{}").get("params", {})
    except (ValueError, AttributeError):
        return {}
    return dict(params) if isinstance(params, dict) else {}


def _shared(project: dict[str, bytes]) -> str | None:
    """The shared environment a stored pyproject names, if any."""
    try:
        data = tomllib.loads(project["pyproject.toml"].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    shared = data.get("tool", {}).get("nodepipe", {}).get("shared-env")
    return shared if isinstance(shared, str) else None
