"""A pipeline's base packages: requirements every node of the pipeline gets, then adds its own.

Changing the base changes every node the pipeline owns, all or nothing: if any node's lock
fails to resolve, every node's pyproject and lock are put back. A node on a shared environment
or an existing interpreter cannot be given them (its packages are the shared environment's or
the interpreter's): ``not_given`` names those nodes and why, for the CLI and the API to say so;
``env detach`` gives such a node the base when it gets an environment of its own again.

A node's own requirement always wins: each node records (``[tool.nodepipe] base-packages``) the
names its base put there, so adding a base package the node pins itself leaves the node's pin,
and removing one removes it only from the nodes that have it from the base.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.model import Node, Pipeline
from nodepipe.domain.requirements import (
    requirement_name,
    validate_package_names,
    validate_requirements,
)
from nodepipe.envs.edits import all_or_nothing
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.guards import check_node_editable, check_pipeline_editable
from nodepipe.services.renamed import warn_renamed
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.node_project import base_names, dependencies, set_base_names


class NotGiven(NamedTuple):
    """A node of the pipeline its base packages do not reach, and why."""

    node_id: str
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class BasePackages:
    """A pipeline's base packages, and the nodes they do not reach: named as their JSON
    (``pipeline base-env show --json``, ``GET /api/pipelines/{p}/base-packages``) names them."""

    pipeline_id: str
    packages: tuple[str, ...]
    not_given: list[NotGiven] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Former name of ``pipeline_id`` (warns)."""
        warn_renamed("BasePackages.id", "BasePackages.pipeline_id")
        return self.pipeline_id

    @property
    def base_packages(self) -> tuple[str, ...]:
        """Former name of ``packages`` (warns)."""
        warn_renamed("BasePackages.base_packages", "BasePackages.packages")
        return self.packages


@dataclass(frozen=True, slots=True)
class PipelineEnvService:
    context: WorkspaceContext

    def show(self, pipeline: str) -> tuple[str, ...]:
        with self.context.store.read() as session:
            return resolver.pipeline(session, pipeline).base_packages

    def view(self, pipeline: str) -> BasePackages:
        """The base packages of ``pipeline`` with the nodes it owns that do not get them."""
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            owned = [n for n in session.list_nodes(target.id) if n.owner_pipeline_id == target.id]
        if not target.base_packages:
            return BasePackages(target.id, ())
        not_given = []
        for node in owned:
            code = self.context.layout.node_dir(node.id) / "code"
            reason = _not_isolated(code)
            if reason:
                not_given.append(NotGiven(node.id, node.tag, reason))
        return BasePackages(target.id, target.base_packages, not_given)

    def add(self, pipeline: str, requirements: list[str]) -> tuple[str, ...]:
        """Add ``requirements`` to the base and to each node, except where the node requires
        that package itself: a node's own pin wins."""
        self.check_add(pipeline, requirements)
        added = {requirement_name(r) for r in requirements}

        def plan(code: Path) -> _NodeEdit | None:
            own = _own_names(code)
            wanted = [r for r in requirements if requirement_name(r) not in own]
            if not wanted:
                return None
            names = base_names(code / "pyproject.toml") | {requirement_name(r) for r in wanted}
            return _NodeEdit(
                code, ["add", "--no-sync", *wanted], names, f"add {', '.join(wanted)} to"
            )

        return self._change(
            pipeline,
            lambda base: [r for r in base if requirement_name(r) not in added] + requirements,
            plan,
        )

    def remove(self, pipeline: str, packages: list[str]) -> tuple[str, ...]:
        """Remove ``packages`` from the base and from the nodes that have them from the base
        only: a node's own requirement of the same package stays. A package the base does
        not have is refused, naming what it has, as ``env remove`` refuses one a node lacks."""
        self.check_remove(pipeline, packages)
        names = {requirement_name(p) for p in packages}

        def plan(code: Path) -> _NodeEdit | None:
            from_base = base_names(code / "pyproject.toml")
            dropped = names & from_base
            if not dropped:
                return None
            present = {requirement_name(r) for r in dependencies(code / "pyproject.toml")}
            removed = sorted(dropped & present)
            uv_args = ["remove", "--no-sync", *removed] if removed else []
            return _NodeEdit(code, uv_args, from_base - names, f"remove {', '.join(removed)} from")

        return self._change(
            pipeline, lambda base: [r for r in base if requirement_name(r) not in names], plan
        )

    def check_add(self, pipeline: str, requirements: list[str]) -> None:
        """What ``add`` refuses before uv runs (the API answers it at once, before its job):
        no requirement, one that does not parse, a locked pipeline or node of it. A package
        or version the index does not have only uv finds out."""
        if not requirements:
            raise InvalidInputError("name at least one package to add to the base")
        validate_requirements(requirements)
        self._editable(pipeline)

    def check_remove(self, pipeline: str, packages: list[str]) -> None:
        """What ``remove`` refuses before uv runs (the API answers it at once, before its
        job): a name that is none, a package the base does not have (naming the ones it has),
        a locked pipeline or node of it."""
        validate_package_names(packages)
        target, _ = self._editable(pipeline)
        had = sorted({requirement_name(r) for r in target.base_packages})
        absent = [p for p in packages if requirement_name(p) not in had]
        if absent:
            raise InvalidInputError(
                f"pipeline {target.tag!r} has no base package {', '.join(absent)}: its base "
                f"packages are {', '.join(had) if had else 'none'}"
            )

    def _editable(self, pipeline: str) -> tuple[Pipeline, list[Node]]:
        """The pipeline and the nodes it owns, once each may be changed (else ReadOnlyError,
        with the hint that lifts it)."""
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            owned = [n for n in session.list_nodes(target.id) if n.owner_pipeline_id == target.id]
            for node in owned:
                check_node_editable(session, node, target)
        return target, owned

    def _change(
        self,
        pipeline: str,
        new_base: Callable[[list[str]], list[str]],
        plan: Callable[[Path], _NodeEdit | None],
    ) -> tuple[str, ...]:
        target, owned = self._editable(pipeline)
        tags = {self.context.layout.node_dir(n.id) / "code": n.tag for n in owned}
        codes = [c for c in tags if not _not_isolated(c)]  # not given: `view` names them
        edits = [edit for edit in map(plan, codes) if edit is not None]
        base = tuple(new_base(list(target.base_packages)))
        environments = self.context.environments
        with all_or_nothing(environments.journal_dir, [edit.code for edit in edits]):
            for edit in edits:
                if edit.uv_args:
                    action = f"{edit.what} node {tags[edit.code]}"
                    environments.run_uv(edit.code, edit.uv_args, action)
                set_base_names(edit.code / "pyproject.toml", edit.base_names)
            for edit in edits:
                if edit.uv_args:
                    environments.sync(edit.code)
            with self.context.store.write() as session:
                session.update_pipeline(target.id, base_packages=base)
        return base


@dataclass(frozen=True, slots=True)
class _NodeEdit:
    """What a base change does to one node: the uv command (none: only the record changes),
    the names its base then provides, and what uv does in words ("add toypkg to", the node's
    tag follows)."""

    code: Path
    uv_args: list[str]
    base_names: set[str]
    what: str


def _not_isolated(code: Path) -> str:
    """Why the node in ``code`` cannot be given base packages; empty when it can."""
    try:
        config = read_node_config(code / "pyproject.toml")
    except (InvalidInputError, OSError):
        return ""  # an unreadable pyproject: status says so
    if config.shared_env is not None:
        return f"it runs on shared environment {config.shared_env}"
    if config.interpreter is not None:
        return f"it runs with the interpreter {config.interpreter}"
    return ""


def _own_names(code: Path) -> set[str]:
    """The packages the node requires itself (not through the base)."""
    pyproject = code / "pyproject.toml"
    from_base = base_names(pyproject)
    return {requirement_name(r) for r in dependencies(pyproject)} - from_base
