"""Use cases on a node's conda packages: add, remove, lock, show, and ``environment.yml``.

A node asks for conda specs (``ffmpeg 6.1.*``) under ``[tool.nodepipe.conda]`` in its
pyproject, optionally from channels of its own (else the workspace's ``[conda] channels`` in
``nodepipe.toml``: conda-forge unless changed). Every change is an environment edit
(``envs.edits``): pyproject, ``conda.lock`` and ``uv.lock`` are put back if solving, installing or
syncing fails or the process is killed, and the prefix is swapped only once fully built, so a
failed request leaves the node exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from nodepipe.domain.arguments import mapping_of, path_of, text_of
from nodepipe.domain.environment_file import conda_spec_name, read_environment_file
from nodepipe.domain.environments import CONDA_LOCK
from nodepipe.domain.errors import Action, Hint, InvalidInputError, NotFoundError
from nodepipe.domain.names import listed
from nodepipe.domain.requirements import validate_requirements
from nodepipe.envs.conda import remove_prefix
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.envs.imported_files import read_imported
from nodepipe.workspace.conda_project import (
    channel_location,
    conda_locked_packages,
    conda_requirements,
    set_conda_requirements,
    spec_locations,
    spec_package_files,
)
from nodepipe.workspace.path_trust import local_path_of


@dataclass(frozen=True, slots=True)
class CondaView:
    """What ``nodepipe env conda show`` prints."""

    node_id: str
    tag: str
    specs: tuple[str, ...]
    channels: tuple[str, ...]
    """The channels the node solves from: its own, else the workspace's."""
    locked: dict[str, str]
    installed: bool
    """Whether ``code/.conda`` matches the lock (both absent counts)."""
    unplaced: tuple[str, ...] = ()
    """After an import: what the environment file asked for that nodepipe could not place."""
    hint: Hint | None = None
    """After an import of a file asking for a Python: set it as the node's own request
    (``env.python``, with the version the file names)."""


@dataclass(frozen=True, slots=True)
class CondaService:
    context: WorkspaceContext

    def add(
        self,
        name: str,
        specs: list[str],
        channels: list[str] | None = None,
        pipeline: str | None = None,
    ) -> CondaView:
        """Add (or re-pin) conda ``specs``; ``channels`` become the node's own, first. Solved,
        locked and installed, or nothing changes."""
        specs = [text_of(s, "a conda package") for s in listed(specs, "the conda packages")]
        channels = [text_of(c, "a channel") for c in listed(channels or [], "the conda channels")]
        if not specs:
            raise InvalidInputError("name at least one conda package")
        _check_package_files(specs)
        node, code = EnvironmentService(self.context).node_code(name, pipeline)
        wanted, own = conda_requirements(code / "pyproject.toml")
        self._apply(code, _merged(wanted, specs), _channels(channels or [], own))
        return self.show(node.id)

    def remove(self, name: str, packages: list[str], pipeline: str | None = None) -> CondaView:
        packages = [
            text_of(p, "a conda package") for p in listed(packages, "the conda packages to remove")
        ]
        node, code = EnvironmentService(self.context).node_code(name, pipeline)
        wanted, own = conda_requirements(code / "pyproject.toml")
        names = {conda_spec_name(p) for p in packages}
        missing = names - {conda_spec_name(s) for s in wanted}
        if missing:
            raise NotFoundError(
                f"node {node.tag!r} has no conda package {', '.join(sorted(missing))}"
            )
        self._apply(code, [s for s in wanted if conda_spec_name(s) not in names], own)
        return self.show(node.id)

    def lock(self, name: str, upgrade: bool = False, pipeline: str | None = None) -> CondaView:
        """Solve the node's conda specs again (the newest allowed with ``upgrade``)."""
        node, code = EnvironmentService(self.context).node_code(name, pipeline)
        wanted, own = conda_requirements(code / "pyproject.toml")
        if not wanted:
            raise InvalidInputError(f"node {node.tag!r} has no conda packages to lock")
        self._apply(code, wanted, own, upgrade)
        return self.show(node.id)

    def set(self, name: str, specs: dict[str, str], pipeline: str | None = None) -> CondaView:
        """Make the node's conda specs exactly ``specs`` (name -> version, "" for any), as a
        code-first pipeline declares them; nothing is solved when they are already so."""
        node, code = EnvironmentService(self.context).node_code(name, pipeline)
        wanted, own = conda_requirements(code / "pyproject.toml")
        given = mapping_of(specs, "the conda packages (name → version)")
        declared = [f"{n} {v}".strip() for n, v in sorted(given.items())]
        if declared != wanted or (declared and not (code / CONDA_LOCK).is_file()):
            self._apply(code, declared, own)
        return self.show(node.id)

    def import_file(self, name: str, file: Path | str, pipeline: str | None = None) -> CondaView:
        """Place an ``environment.yml``: its ``pip:`` section in the uv project, its conda
        dependencies and channels in the conda part, all in one edit (or nothing)."""
        file = path_of(file, "the environment file")
        placed = read_environment_file(read_imported(file, "an environment file"), str(file))
        validate_requirements(placed.pip)
        node, code = EnvironmentService(self.context).node_code(name, pipeline)
        wanted, own = conda_requirements(code / "pyproject.toml")
        base = file.resolve().parent
        channels = [channel_location(c, base) for c in placed.channels] or own
        specs = _merged(wanted, placed.conda)
        environments = self.context.environments

        def edit() -> None:
            if placed.pip:
                environments.run_uv(code, ["add", "--no-sync", *placed.pip], f"import {file}")
            self._write(code, specs, channels)

        environments.change(code, edit)
        hint = None
        if placed.python_versions:
            version = placed.python_versions[0]
            params = {"node": node.id, "tag": node.tag} | ({"version": version} if version else {})
            hint = Hint(Action.ENV_PYTHON, params)
        return replace(self.show(node.id), unplaced=tuple(placed.unplaced), hint=hint)

    def solver_sources(
        self,
        name: str,
        specs: list[str] | None = None,
        channels: list[str] | None = None,
        pipeline: str | None = None,
        removed: list[str] | None = None,
    ) -> list[str]:
        """Every location a solve would read after adding ``specs`` from ``channels`` (or
        removing the ``removed`` packages, or a relock): the channels, a local folder as a
        ``file://`` URL (a name is never a folder), and the package files and channels the
        specs name themselves (``ffmpeg[url=file:///...]``, ``/chan::ffmpeg``), so the web API
        can check what will be read rather than what was typed."""
        _, code = EnvironmentService(self.context).node_code(name, pipeline, edit=False)
        wanted, own = conda_requirements(code / "pyproject.toml")
        gone = {conda_spec_name(p) for p in listed(removed or [], "the packages removed")}
        solved = _merged(
            [s for s in wanted if conda_spec_name(s) not in gone],
            listed(specs or [], "the conda packages"),
        )
        places = [place for spec in solved for place in spec_locations(spec)]
        return self._effective(_channels(listed(channels or [], "the channels"), own)) + places

    def show(self, name: str, pipeline: str | None = None) -> CondaView:
        node, code = EnvironmentService(self.context).node_code(name, pipeline, edit=False)
        wanted, own = conda_requirements(code / "pyproject.toml")
        lock = code / CONDA_LOCK
        return CondaView(
            node_id=node.id,
            tag=node.tag,
            specs=tuple(wanted),
            channels=tuple(self._effective(own)),
            locked=conda_locked_packages(lock.read_bytes()) if lock.is_file() else {},
            installed=self.context.environments.conda.is_current(code),
        )

    def _apply(self, code: Path, specs: list[str], own: list[str], upgrade: bool = False) -> None:
        """Write the request, solve, lock and install, as one environment edit."""
        self.context.environments.change(
            code, lambda: self._write(code, specs, own, upgrade), sync=False
        )

    def _write(self, code: Path, specs: list[str], own: list[str], upgrade: bool = False) -> None:
        conda = self.context.environments.conda
        set_conda_requirements(code / "pyproject.toml", specs, own)
        if specs:
            conda.lock(code, specs, self._effective(own), upgrade)
            conda.install(code)
        else:
            (code / CONDA_LOCK).unlink(missing_ok=True)
            remove_prefix(code)

    def _effective(self, own: list[str]) -> list[str]:
        root = self.context.layout.root
        return own or [channel_location(c, root) for c in self.context.config.conda_channels]


def _merged(wanted: list[str], specs: list[str]) -> list[str]:
    """``wanted`` with ``specs`` added; a spec for a package already there replaces it."""
    names = {conda_spec_name(s) for s in specs}
    return [s for s in wanted if conda_spec_name(s) not in names] + [s.strip() for s in specs]


def _check_package_files(specs: list[str]) -> None:
    """Refuse a spec whose local ``url=`` (or whole text) is no conda package file, at once:
    bad input, not a channel the solver could not read."""
    for spec in specs:
        for place in spec_package_files(spec):
            local = local_path_of(place)
            if local is not None and not (
                local.endswith((".conda", ".tar.bz2")) and Path(local).expanduser().is_file()
            ):
                raise InvalidInputError(
                    f"{spec!r} names {local}, which is no conda package file "
                    "(a .conda or .tar.bz2 file)"
                )


def _channels(given: list[str], own: list[str]) -> list[str]:
    """The node's channels with ``given`` (as solver locations) first, each once."""
    located = [channel_location(c) for c in given]
    return located + [c for c in own if c not in located]
