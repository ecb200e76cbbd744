"""Materialising a code-first ``PipelineSpec`` as real node folders, or updating them.

Creates the pipeline (and its base packages), then for each declared node: creates it or finds
it by tag among the nodes the pipeline owns; writes its main.py and parameters when they
differ; sets its packages, conda packages and Python version (locked and synced, all or
nothing per node);
connects its parents on slots 01, 02... Running it again changes only what differs.

All or nothing: when a step fails (a package that cannot be had, a Python not installed), what
the run of ``apply`` did is undone before the error is raised: a pipeline it created is deleted
with its node folders; in a pipeline that existed, the nodes it created are removed and the
code, parameters, environment files (synced back) and edges it changed are put back.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.errors import AmbiguousNameError, NotFoundError
from nodepipe.domain.model import Node, PipelineView
from nodepipe.domain.params import dump_params
from nodepipe.domain.specs import NodeSpec, PipelineSpec
from nodepipe.envs.edits import PROJECT_FILES
from nodepipe.services.envs.base_packages import PipelineEnvService
from nodepipe.services.envs.conda import CondaService
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.graph.edges import EdgeService
from nodepipe.services.graph.nodes import NodeService
from nodepipe.services.graph.pipelines import PipelineService
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.node_config import read_pyproject
from nodepipe.workspace.node_project import dependencies


@dataclass(frozen=True, slots=True)
class Materializer:
    pipelines: PipelineService
    nodes: NodeService
    edges: EdgeService
    envs: EnvironmentService
    base_envs: PipelineEnvService
    conda: CondaService

    def apply(self, spec: PipelineSpec) -> PipelineView:
        spec.check()
        try:
            self.pipelines.get(spec.tag)
            created = False
        except NotFoundError:
            self.pipelines.new(spec.tag, spec.project)
            created = True
        undo: list[Callable[[], object]] = []
        try:
            self._apply(spec, undo)
        except BaseException:
            if created:
                self.pipelines.delete(spec.tag)  # its node folders go with it
            else:
                for step in reversed(undo):
                    with contextlib.suppress(Exception):  # put back all that can be
                        step()
            raise
        return self.pipelines.show(spec.tag)

    def _apply(self, spec: PipelineSpec, undo: list[Callable[[], object]]) -> None:
        base = spec.base_requirements
        if list(self.base_envs.show(spec.tag)) != base and base:
            self.base_envs.add(spec.tag, base)
        owned = self._owned_by_tag(spec.tag)
        for node in owned.values():
            undo.append(self._saved(node))
        missing = [node_spec.tag for node_spec in spec.nodes if node_spec.tag not in owned]
        if missing:  # made together: one flush to disk and one transaction for all of them
            made = self.nodes.new_many(spec.tag, missing)
            undo.append(functools.partial(self._forget, spec.tag, made))
            owned.update((node.tag, node) for node in made)
        for node_spec in spec.nodes:
            self._update(owned[node_spec.tag], node_spec, base)
        for node_spec in spec.nodes:
            self._connect(spec.tag, owned, node_spec, undo)

    def _forget(self, pipeline: str, nodes: list[Node]) -> None:
        self.nodes.remove([node.id for node in nodes], pipeline)

    def _saved(self, node: Node) -> Callable[[], None]:
        """How to put back the node's code, parameters and environment files as they are."""
        code = self.nodes.path(node.id) / "code"
        names = ["main.py", "params.yaml", *PROJECT_FILES]
        saved = {name: _read(code / name) for name in names}

        def put_back() -> None:
            changed = False
            for name, content in saved.items():
                if _read(code / name) != content:
                    changed = True
                    if content is None:
                        (code / name).unlink(missing_ok=True)
                    else:
                        write_atomic(code / name, content)
            if changed:
                self.envs.sync(node.id)

        return put_back

    def _owned_by_tag(self, pipeline: str) -> dict[str, Node]:
        view = self.pipelines.show(pipeline)
        result: dict[str, Node] = {}
        for item in view.nodes:
            if item.is_reference:
                continue
            if item.node.tag in result:
                raise AmbiguousNameError(
                    f"pipeline {pipeline!r} owns two nodes tagged {item.node.tag!r}; "
                    "give them distinct tags before materialising"
                )
            result[item.node.tag] = item.node
        return result

    def _update(self, node: Node, spec: NodeSpec, base: list[str]) -> None:
        code = self.nodes.path(node.id) / "code"
        main = code / "main.py"
        if not main.is_file() or main.read_text(encoding="utf-8") != spec.code:
            main.write_text(spec.code, encoding="utf-8")
        if self.nodes.params(node.id) != spec.params:
            self.nodes.set_params(node.id, replace_with=dump_params(spec.params))
        version_pin = spec.python if spec.python and spec.python[:1].isdigit() else None
        if version_pin is not None:
            self.envs.set_python(node.id, version_pin)
        wanted = base + spec.requirements
        ranged = spec.python if spec.python and version_pin is None else None
        pyproject = code / "pyproject.toml"
        requires = read_pyproject(pyproject).get("project", {}).get("requires-python")
        if sorted(dependencies(pyproject)) != sorted(wanted) or (ranged and ranged != requires):
            self.envs.replace_requirements(node.id, wanted, ranged)
        self.conda.set(node.id, spec.conda)  # solves only when the declaration changed

    def _connect(
        self,
        pipeline: str,
        owned: dict[str, Node],
        spec: NodeSpec,
        undo: list[Callable[[], object]],
    ) -> None:
        child = owned[spec.tag]
        inputs = {link.slot: link.node_id for link in self.nodes.show(child.id).inputs}
        for index, parent_tag in enumerate(spec.parents, 1):
            slot = f"{index:02d}"
            parent = owned[parent_tag]
            if inputs.get(slot) == parent.id:
                continue
            if slot in inputs:
                old = inputs[slot]
                self.edges.disconnect(old, child.id, pipeline)
                undo.append(functools.partial(self.edges.connect, old, child.id, pipeline, slot))
            self.edges.connect(parent.id, child.id, pipeline, slot)
            undo.append(functools.partial(self.edges.disconnect, parent.id, child.id, pipeline))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
