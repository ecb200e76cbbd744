"""A pipeline's base packages: requirements every node of the pipeline gets, then adds its own.

Changing the base changes every node the pipeline owns (shared-environment nodes aside), all or
nothing: if any node's lock fails to resolve, every node's pyproject and lock are put back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.requirements import (
    requirement_name,
    validate_package_names,
    validate_requirements,
)
from nodepipe.envs.edits import all_or_nothing
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.guards import check_node_editable, check_pipeline_editable
from nodepipe.workspace.node_config import read_node_config


@dataclass(frozen=True, slots=True)
class PipelineEnvService:
    context: WorkspaceContext

    def show(self, pipeline: str) -> tuple[str, ...]:
        with self.context.store.read() as session:
            return resolver.pipeline(session, pipeline).base_packages

    def add(self, pipeline: str, requirements: list[str]) -> tuple[str, ...]:
        if not requirements:
            raise InvalidInputError("name at least one package to add to the base")
        validate_requirements(requirements)
        added = {requirement_name(r) for r in requirements}
        return self._change(
            pipeline,
            lambda base: [r for r in base if requirement_name(r) not in added] + requirements,
            ["add", "--no-sync", *requirements],
        )

    def remove(self, pipeline: str, packages: list[str]) -> tuple[str, ...]:
        validate_package_names(packages)
        names = {requirement_name(p) for p in packages}
        return self._change(
            pipeline,
            lambda base: [r for r in base if requirement_name(r) not in names],
            ["remove", "--no-sync", *packages],
        )

    def _change(
        self, pipeline: str, new_base: Callable[[list[str]], list[str]], uv_args: list[str]
    ) -> tuple[str, ...]:
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            owned = [n for n in session.list_nodes(target.id) if n.owner_pipeline_id == target.id]
            for node in owned:
                check_node_editable(session, node, target)
        codes = [self.context.layout.node_dir(n.id) / "code" for n in owned]
        codes = [c for c in codes if read_node_config(c / "pyproject.toml").shared_env is None]
        base = tuple(new_base(list(target.base_packages)))
        environments = self.context.environments
        with all_or_nothing(environments.journal_dir, codes):
            for code in codes:
                environments.run_uv(
                    code, uv_args, f"change the base packages of {code.parent.name}"
                )
            for code in codes:
                environments.sync(code)
            with self.context.store.write() as session:
                session.update_pipeline(target.id, base_packages=base)
        return base
