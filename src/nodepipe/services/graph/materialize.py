"""Materialising a code-first ``PipelineSpec`` as real node folders, or updating them.

Creates the pipeline (and its base packages), then for each declared node: creates it or finds
it by tag among the nodes the pipeline owns; writes its main.py and parameters when they
differ; sets its packages, conda packages and Python version (locked and synced, all or
nothing per node);
connects its parents on slots 01, 02... Running it again changes only what differs, and makes
the pipeline what the definition now says: a parent no longer declared is disconnected, a base
package no longer declared is removed, a pipeline in another project than the one declared is
moved there. A node no longer declared is kept, with its folder and
outputs (delete it with ``ws.nodes.delete``); a node whose ``python`` is no longer declared
keeps the interpreter it has.

It rewrites only nodes it made: each node it makes is recorded as made for the pipeline
(``workspace.materialized_record``). A node of the pipeline with a declared tag that no
materialise made (built by hand, imported, copied, or materialised before nodepipe kept the
record) is never overwritten: the materialise is refused before it changes anything, naming
the nodes, unless it is told to take them over (``adopt``): their ``code/`` is then first
copied to ``<node>/undone-edits/materialize.<8 hex>/``, and they are recorded as its own.

All or nothing, even when the process is killed: the whole materialise is one operation of
the workspace journal, and how to undo each change is recorded before the change is made
(``services.graph.materialize_undo``). When a step fails, what was done is undone before the
error is raised: a pipeline it created is deleted with its node folders; in a pipeline that
existed, the nodes it created are removed and the code, parameters, environment files (synced
back), base packages and edges it changed are put back. When the process dies, the next
command does the same.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Collection
from dataclasses import dataclass

from nodepipe.domain.errors import (
    AmbiguousNameError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from nodepipe.domain.model import Node, Pipeline, PipelineView
from nodepipe.domain.names import listed
from nodepipe.domain.params import dump_params
from nodepipe.domain.requirements import requirement_name
from nodepipe.domain.specs import NodeSpec, PipelineSpec
from nodepipe.envs.edits import undone_edits_folder
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.envs.base_packages import PipelineEnvService
from nodepipe.services.envs.conda import CondaService
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.graph.edges import EdgeService
from nodepipe.services.graph.materialize_edits import edited_since, files_digest, keep_replaced
from nodepipe.services.graph.materialize_undo import MATERIALIZE_KIND, SAVED_FILES, UndoLog
from nodepipe.services.graph.nodes import NodeService
from nodepipe.services.graph.pipelines import PipelineService
from nodepipe.services.graph.projects import ProjectService
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, sync_filesystem
from nodepipe.workspace.materialized_record import materialized_into, record_materialized
from nodepipe.workspace.node_config import read_pyproject
from nodepipe.workspace.node_folder import COPY_IGNORED
from nodepipe.workspace.node_project import dependencies


@dataclass(frozen=True, slots=True)
class Materializer:
    context: WorkspaceContext

    @property
    def pipelines(self) -> PipelineService:
        return PipelineService(self.context)

    @property
    def nodes(self) -> NodeService:
        return NodeService(self.context)

    @property
    def edges(self) -> EdgeService:
        return EdgeService(self.context)

    @property
    def envs(self) -> EnvironmentService:
        return EnvironmentService(self.context)

    def apply(self, spec: PipelineSpec, adopt: Collection[str] = ()) -> PipelineView:
        """Make the pipeline what ``spec`` declares; ``adopt``: tags of nodes of the pipeline
        no materialise made that it may take over (see the module's docstring)."""
        spec.check()
        taken = set(listed(adopt, "the nodes to adopt"))
        declared = [node_spec.tag for node_spec in spec.nodes]
        unknown = sorted(taken - set(declared))
        if unknown:
            raise InvalidInputError(
                f"adopt names {unknown[0]!r}, which the definition does not declare "
                f"(its nodes: {', '.join(declared)})"
            )
        with journal.operation(self.context.layout.staging_dir, MATERIALIZE_KIND) as operation:
            log = UndoLog(self.context, operation)
            crash_point("materialize.begun")
            try:
                self._apply(spec, log, taken)
            except BaseException:
                log.undo(sync=True)
                raise
            log.done()
            crash_point("materialize.done")
        return self.pipelines.show(spec.tag)

    def _apply(self, spec: PipelineSpec, log: UndoLog, adopt: set[str]) -> None:
        adopted: list[Node] = []
        edited: dict[str, str] = {}
        try:
            found = self.pipelines.get(spec.tag)
        except NotFoundError:
            log.add({"step": "pipeline", "tag": spec.tag})
            pipeline_id = self.pipelines.new(spec.tag, spec.project).id
            log.amend(id=pipeline_id)
            crash_point("materialize.pipeline")
            owned: dict[str, Node] = {}
        else:
            pipeline_id = found.id
            owned = self._owned_by_tag(spec.tag)
            adopted = self._not_made_here(found, owned, spec, adopt)  # refused before a change
            declared = {node_spec.tag for node_spec in spec.nodes}
            taken_over = {node.id for node in adopted}  # their whole code/ is kept
            edited = edited_since(
                self.context,
                (n for n in owned.values() if n.tag in declared and n.id not in taken_over),
            )
            if spec.project is not None:
                self._move(found, spec.project, log)
        log.save_files([node.id for node in owned.values()])
        for node in adopted:
            self._adopt(node, pipeline_id, log)
        base = spec.base_requirements
        base_envs = PipelineEnvService(self.context)
        before = list(base_envs.show(spec.tag))
        if before != base:
            log.add({"step": "base", "pipeline": pipeline_id, "packages": before})
            kept = {requirement_name(r) for r in base}
            dropped = [name for name in map(requirement_name, before) if name not in kept]
            if dropped:  # no longer declared: gone from the base and the nodes it gave them
                base_envs.remove(spec.tag, dropped)
            if base:
                base_envs.add(spec.tag, base)
            crash_point("materialize.base")
        missing = [node_spec.tag for node_spec in spec.nodes if node_spec.tag not in owned]
        if missing:  # made together: one flush to disk and one transaction for all of them
            ids = sorted(node.id for node in owned.values())
            log.add({"step": "nodes", "pipeline": pipeline_id, "tags": missing, "before": ids})
            made = self.nodes.new_many(spec.tag, missing)
            owned.update((node.tag, node) for node in made)
            for node in made:  # removed with their folders if the materialise is undone
                record_materialized(self.context.layout.node_dir(node.id), node.id, pipeline_id)
            sync_filesystem(self.context.layout.nodes_dir)
            crash_point("materialize.nodes")
        for node_spec in spec.nodes:
            self._update(owned[node_spec.tag], node_spec, base)
            crash_point("materialize.node")
        keep_replaced(self.context, log, edited, {n.id: n.tag for n in owned.values()})
        for node_spec in spec.nodes:
            self._connect(pipeline_id, owned, node_spec, log)
        for node_spec in spec.nodes:  # what it left, to tell later edits by
            node_id = owned[node_spec.tag].id
            folder = self.context.layout.node_folder(node_id)
            record_materialized(folder.path, node_id, pipeline_id, files_digest(folder.code))
        sync_filesystem(self.context.layout.nodes_dir)

    def _not_made_here(
        self, pipeline: Pipeline, owned: dict[str, Node], spec: PipelineSpec, adopt: set[str]
    ) -> list[Node]:
        """The nodes of ``pipeline`` the definition declares that no materialise into it made,
        when ``adopt`` names each (they are to be taken over); else ConflictError naming the
        others, what would be lost and the fixes."""
        layout = self.context.layout
        found = [owned[node_spec.tag] for node_spec in spec.nodes if node_spec.tag in owned]
        strangers = [
            node
            for node in found
            if materialized_into(layout.node_dir(node.id), node.id) != pipeline.id
        ]
        refused = [node for node in strangers if node.tag not in adopt]
        if not refused:
            return strangers
        named = ", ".join(f"{node.tag!r} ({node.id})" for node in refused)
        several = len(refused) > 1
        tags = ", ".join(repr(node.tag) for node in strangers)
        raise ConflictError(
            f"pipeline {pipeline.tag!r} already has {'nodes' if several else 'a node'} tagged "
            f"{named} that no materialize of this definition made (built by hand, imported, "
            "copied, or materialised before nodepipe kept track): materialising would replace "
            f"{'their' if several else 'its'} code, parameters and packages, so nothing was "
            f"changed. Give {'them other tags' if several else 'it another tag'} (the "
            "definition then makes nodes of its own), or let the definition take "
            f"{'them' if several else 'it'} over, {'their' if several else 'its'} code first "
            f"copied to the node folder's undone-edits/: materialize(definition, "
            f"adopt=[{tags}])"
        )

    def _adopt(self, node: Node, pipeline_id: str, log: UndoLog) -> None:
        """Take over ``node``: its ``code/`` copied to ``<node>/undone-edits/materialize.<8
        hex>/``, then recorded as made for ``pipeline_id`` (both undone with the rest)."""
        folder = self.context.layout.node_folder(node.id)
        digest = hashlib.sha256()
        for name in SAVED_FILES:
            path = folder.code / name
            digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
        label = f"materialize.{digest.hexdigest()[:8]}"
        place = undone_edits_folder(folder.code)
        target = place / label if place is not None else folder.path / f"undone-{label}"
        fresh = not target.is_dir()  # the same code kept before (by hand since): kept once
        log.add({"step": "adopted", "node": node.id, "kept": str(target) if fresh else None})
        if fresh:
            building = log.operation.folder / "adopted" / node.id
            building.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder.code, building, ignore=COPY_IGNORED, symlinks=True)
            sync_filesystem(building)
            building.rename(target)
            fsync_dir(target.parent)
        record_materialized(folder.path, node.id, pipeline_id)
        fsync_dir(folder.path)
        crash_point("materialize.adopted")

    def _move(self, pipeline: Pipeline, project: str, log: UndoLog) -> None:
        """Into the project the definition names, when it is in another one."""
        if ProjectService(self.context).get(project).id == pipeline.project_id:
            return
        log.add({"step": "moved", "pipeline": pipeline.id, "project": pipeline.project_id})
        self.pipelines.move(pipeline.id, project)
        crash_point("materialize.moved")

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
        version_pin = None if spec.python_range else spec.python
        if version_pin is not None:
            self.envs.set_python(node.id, version_pin)
        wanted = base + spec.requirements
        ranged = spec.python if spec.python_range else None
        pyproject = code / "pyproject.toml"
        requires = read_pyproject(pyproject).get("project", {}).get("requires-python")
        if sorted(dependencies(pyproject)) != sorted(wanted) or (ranged and ranged != requires):
            self.envs.replace_requirements(node.id, wanted, ranged)
        CondaService(self.context).set(
            node.id, spec.conda
        )  # solves only when the declaration changed

    def _connect(
        self, pipeline_id: str, owned: dict[str, Node], spec: NodeSpec, log: UndoLog
    ) -> None:
        child = owned[spec.tag]
        inputs = {link.slot: link.node_id for link in self.nodes.show(child.id).inputs}
        wanted = {f"{i:02d}": owned[tag].id for i, tag in enumerate(spec.parents, 1)}
        for slot, old in sorted(inputs.items()):
            if wanted.get(slot) != old:  # another parent there now, or none declared
                self._disconnect(pipeline_id, old, child.id, slot, log)
        for slot, parent_id in wanted.items():
            if inputs.get(slot) == parent_id:
                continue
            log.add(
                {
                    "step": "connected",
                    "pipeline": pipeline_id,
                    "parent": parent_id,
                    "child": child.id,
                }
            )
            self.edges.connect(parent_id, child.id, pipeline_id, slot)
            crash_point("materialize.edge")

    def _disconnect(
        self, pipeline_id: str, parent_id: str, child_id: str, slot: str, log: UndoLog
    ) -> None:
        step = {"pipeline": pipeline_id, "parent": parent_id, "child": child_id, "slot": slot}
        log.add({"step": "disconnected", **step})
        self.edges.disconnect(parent_id, child_id, pipeline_id)
