"""Named shared environments: nodes that opt out of isolation use one of these instead.

A shared environment lives in ``.nodepipe/envs/<name>/`` (pyproject.toml, uv.lock, .venv). A
node using it has ``shared-env = "<name>"`` under ``[tool.nodepipe]``, a ``.venv`` that links
to the shared one and a copy of its lock, so changing the shared environment makes every node
using it stale ("lock changed: …").
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import Action, Hint, NameTakenError, NotFoundError
from nodepipe.domain.requirements import validate_package_names, validate_requirements
from nodepipe.envs.edits import all_or_nothing
from nodepipe.envs.interpreters import interpreter_version
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.node_folder import node_pyproject_text
from nodepipe.workspace.node_project import dependencies
from nodepipe.workspace.uv_lock import locked_packages


@dataclass(frozen=True, slots=True)
class SharedEnvView:
    name: str
    python: str
    direct: tuple[str, ...]
    locked: dict[str, str]


@dataclass(frozen=True, slots=True)
class SharedEnvService:
    context: WorkspaceContext

    def _dir(self, name: str, exists: bool = True) -> Path:
        folder = self.context.layout.shared_env_dir(name)
        if exists and not (folder / "pyproject.toml").is_file():
            known = ", ".join(self.list()) or "none yet"
            raise NotFoundError(
                f"no shared environment {name!r} (known: {known})",
                hint=Hint(Action.SHARED_ENV_NEW, {"name": name}),
            )
        return folder

    def list(self) -> builtins.list[str]:
        root = self.context.layout.shared_envs_dir
        return sorted(p.parent.name for p in root.glob("*/pyproject.toml")) if root.is_dir() else []

    def check_new(self, name: str, requirements: builtins.list[str] | None = None) -> Path:
        """Refuse now, changing nothing, what ``new`` would refuse before it locks (a surface
        that runs it in the background asks first): requirements that do not parse, a name
        invalid or another shared environment's (NameTakenError about ``name``). Its folder."""
        validate_requirements(requirements or [])
        folder = self._dir(name, exists=False)
        if folder.exists():
            raise NameTakenError(f"the shared environment {name!r} already exists", "name")
        return folder

    def new(self, name: str, requirements: builtins.list[str] | None = None) -> SharedEnvView:
        folder = self.check_new(name, requirements)
        environments = self.context.environments
        with all_or_nothing(environments.journal_dir, [], creates=[folder]):
            folder.mkdir(parents=True)
            write_atomic(
                folder / "pyproject.toml", node_pyproject_text(self.context.python_version)
            )
            environments.lock_pristine(folder)
            if requirements:
                environments.run_uv(folder, ["add", "--no-sync", *requirements], "add packages")
            environments.sync(folder)
        return self.show(name)

    def add(self, name: str, requirements: builtins.list[str]) -> SharedEnvView:
        return self._change(name, ["add", "--no-sync", *validate_requirements(requirements)])

    def remove(self, name: str, packages: builtins.list[str]) -> SharedEnvView:
        return self._change(name, ["remove", "--no-sync", *validate_package_names(packages)])

    def _change(self, name: str, uv_args: builtins.list[str]) -> SharedEnvView:
        """Change the shared environment; the nodes using it get its new lock (and go stale)."""
        folder = self._dir(name)
        environments = self.context.environments
        action = " ".join(uv_args[:1] + uv_args[2:])
        environments.change(folder, lambda: environments.run_uv(folder, uv_args, action))
        for code in self.users(name):
            environments.use_shared(code, folder)
        return self.show(name)

    def users(self, name: str) -> builtins.list[Path]:
        """Code folders of the nodes that use the shared environment ``name``."""
        nodes_dir = self.context.layout.nodes_dir
        return [
            pyproject.parent
            for pyproject in sorted(nodes_dir.glob("*/code/pyproject.toml"))
            if read_node_config(pyproject).shared_env == name
        ]

    def show(self, name: str) -> SharedEnvView:
        folder = self._dir(name)
        return SharedEnvView(
            name=name,
            python=interpreter_version(self.context.environments.python_for(folder)),
            direct=tuple(dependencies(folder / "pyproject.toml")),
            locked={
                k: v
                for k, v in locked_packages((folder / "uv.lock").read_bytes()).items()
                if k != "nodepipe-node"
            },
        )
