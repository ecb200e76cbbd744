"""Opting a node in and out of isolation at any time: a shared environment, an existing
interpreter, or back to an environment of its own.

- ``use_shared``: the node's ``.venv`` becomes a link to the shared environment and its lock a
  copy of the shared lock (so a change of the shared environment makes it stale); its own
  environment folder is removed.
- ``use_interpreter``: the node runs with an existing interpreter (the system's, an image's);
  it has no environment, is not isolated, and every surface says so.
- ``detach``: back to an environment of its own. From a shared environment it gets the same
  packages: the shared environment's requirements, locked from the shared lock it already
  holds (the versions stay), then synced; and its pipeline's base packages the shared
  environment does not name (``services.envs.base_packages``), recorded as from the base.
  From an interpreter it keeps its own requirements and gets the base as it is now (base
  changes skipped it meanwhile), relocked.

Each switch is all or nothing on the node's project files (``envs.edits``); what it removes is
an environment, rebuilt from the lock by the next sync. Nothing is left beside ``.venv``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nodepipe.domain.arguments import path_of
from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.domain.requirements import requirement_name
from nodepipe.envs.interpreters import check_trusted, interpreter_version
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.environments import EnvironmentService, EnvironmentView
from nodepipe.services.envs.shared_envs import SharedEnvService
from nodepipe.workspace.node_config import NodeConfig, read_node_config, read_pyproject
from nodepipe.workspace.node_project import (
    base_names,
    dependencies,
    set_base_names,
    set_dependencies,
    set_interpreter,
    set_requires_python,
    set_shared_env,
)

Isolation = Literal["own", "shared", "interpreter"]
"""How isolated a node is asked to be: its own environment, a shared one, an interpreter."""


@dataclass(frozen=True, slots=True)
class IsolationService:
    context: WorkspaceContext

    @property
    def _envs(self) -> EnvironmentService:
        return EnvironmentService(self.context)

    def use_shared(self, name: str, shared: str, pipeline: str | None = None) -> EnvironmentView:
        """Make node ``name`` use the shared environment ``shared`` from now on."""
        SharedEnvService(self.context).show(shared)  # NotFoundError hinting shared-env new
        node, code = self._envs.node_code(name, pipeline, own=False)
        shared_dir = self.context.layout.shared_env_dir(shared)
        environments = self.context.environments

        def edit() -> None:
            set_interpreter(code / "pyproject.toml", None)
            set_shared_env(code / "pyproject.toml", shared)
            environments.use_shared(code, shared_dir)

        environments.change(code, edit, sync=False)
        return self._envs.show(node.id)

    def use_interpreter(self, name: str, path: str, pipeline: str | None = None) -> EnvironmentView:
        """Run node ``name`` with the existing interpreter ``path`` (absolute, or a command on
        PATH): no environment of its own, not isolated."""
        interpreter = _interpreter(path)
        node, code = self._envs.node_code(name, pipeline, own=False)

        def edit() -> None:
            set_shared_env(code / "pyproject.toml", None)
            set_interpreter(code / "pyproject.toml", interpreter)

        self.context.environments.change(code, edit, sync=False)
        remove_environment(code / ".venv")
        return self._envs.show(node.id)

    def check(
        self, name: str, mode: Isolation, target: str | None, pipeline: str | None = None
    ) -> None:
        """Refuse now, changing nothing, what switching node ``name`` to ``mode`` would refuse
        (the web API asks before its job): a node that cannot be edited, ``own`` for a node
        that has its own environment, no shared environment ``target`` (NotFoundError hinting
        ``shared-env new``), no working Python interpreter at ``target``."""
        node, code = self._envs.node_code(name, pipeline, own=False)
        if mode == "own":
            _own_config(node, code)
        elif mode == "shared":
            SharedEnvService(self.context).show(target or "")
        else:
            _interpreter(target or "")

    def detach(self, name: str, pipeline: str | None = None) -> EnvironmentView:
        """Give node ``name`` an environment of its own again (from a shared one: the same
        packages at the same versions)."""
        node, code = self._envs.node_code(name, pipeline, own=False)
        config = _own_config(node, code)
        pyproject = code / "pyproject.toml"
        environments = self.context.environments
        with self.context.store.read() as session:
            base = resolver.pipeline(session, node.owner_pipeline_id).base_packages
        shared_dir = (
            self.context.layout.shared_env_dir(config.shared_env) if config.shared_env else None
        )

        def edit() -> None:
            set_shared_env(pyproject, None)
            set_interpreter(pyproject, None)
            if shared_dir is not None:
                shared = dependencies(shared_dir / "pyproject.toml")
                named = {requirement_name(r) for r in shared}
                from_base = [r for r in base if requirement_name(r) not in named]
                set_dependencies(pyproject, [*shared, *from_base])
                set_base_names(pyproject, {requirement_name(r) for r in from_base})
                wanted = read_pyproject(shared_dir / "pyproject.toml")["project"]
                if "requires-python" in wanted:
                    set_requires_python(pyproject, wanted["requires-python"])
                remove_environment(code / ".venv")
                environments.lock(code)  # from the copied shared lock: same versions
            elif _take_current_base(pyproject, base):
                environments.lock(code)  # the kept lock's versions stay where they fit

        environments.change(code, edit)
        return self._envs.show(node.id)


def _take_current_base(pyproject: Path, base: Sequence[str]) -> bool:
    """Give a node leaving an existing interpreter its pipeline's base as it is now: base
    changes skipped it meanwhile (``not given``). Its own requirements stay; what it had
    from the base goes; the base's packages it does not require itself come, recorded as
    from the base. True when its requirements changed."""
    before = dependencies(pyproject)
    from_base = base_names(pyproject)
    own = [r for r in before if requirement_name(r) not in from_base]
    named = {requirement_name(r) for r in own}
    given = [r for r in base if requirement_name(r) not in named]
    set_base_names(pyproject, {requirement_name(r) for r in given})
    if [*own, *given] == before:
        return False
    set_dependencies(pyproject, [*own, *given])
    return True


def _own_config(node: Node, code: Path) -> NodeConfig:
    """The node's config; ConflictError when it has an environment of its own already."""
    config = read_node_config(code / "pyproject.toml")
    if config.isolation == "own":
        raise ConflictError(f"node {node.tag!r} already has an environment of its own")
    return config


def _interpreter(path: str) -> str:
    """The absolute path of a working Python interpreter, or InvalidInputError saying why."""
    path = path if path == "" else str(path_of(path, "the interpreter"))
    found = shutil.which(path) if "/" not in path else path
    if found is None or not Path(found).is_file():
        raise InvalidInputError(f"no interpreter at {path}")
    absolute = check_trusted(str(Path(found).absolute()))
    if interpreter_version(absolute) == "unknown":
        raise InvalidInputError(f"{path} did not run as a Python interpreter")
    return absolute


def remove_environment(venv: Path) -> None:
    """Remove a node's ``.venv`` (a folder, or the link to a shared environment): a node on
    an existing interpreter has none."""
    if venv.is_symlink() or venv.is_file():
        venv.unlink()
    elif venv.is_dir():
        shutil.rmtree(venv)
