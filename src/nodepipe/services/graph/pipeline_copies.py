"""Use cases that make new pipelines out of existing ones: branch, duplicate, merge."""

from __future__ import annotations

from dataclasses import dataclass

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.graph import ancestors, descendants
from nodepipe.domain.model import Lineage, Membership, PipelineView
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.copying import CopyPlan, insert_copies, plan_copies, positions_in
from nodepipe.services.graph.effective import pipeline_view
from nodepipe.services.graph.membership import ROW_HEIGHT
from nodepipe.services.graph.pipelines import (
    check_pipeline_tag_free,
    insert_pipeline,
)
from nodepipe.services.graph.staged_folders import staged_folders
from nodepipe.store.queries import StoreSession


@dataclass(frozen=True, slots=True)
class _NewPipelinePlan:
    """A pipeline to create: copies of some nodes, references to others, and its lineage."""

    copies: CopyPlan
    references: dict[str, tuple[float, float]]
    sources: list[str]
    kind: str
    from_node_id: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineCopyService:
    context: WorkspaceContext

    def branch(
        self, name: str, from_node: str, new_tag: str, project: str | None = None
    ) -> PipelineView:
        """A new pipeline: upstream of ``from_node`` shared by reference, it and below copied."""
        with self.context.store.read() as session:
            source = resolver.pipeline(session, name)
            check_pipeline_tag_free(session, new_tag)
            start = resolver.node(session, from_node, source)
            edges = session.edges_of_pipeline(source.id)
            layout = positions_in(session, source.id)
            copied = [start.id, *sorted(descendants([start.id], edges) & layout.keys())]
            upstream = ancestors(copied, edges) - set(copied)
            plan = _NewPipelinePlan(
                copies=plan_copies(session, copied, layout, None, with_data=False),
                references={node_id: layout[node_id] for node_id in upstream},
                sources=[source.id],
                kind="branch",
                from_node_id=start.id,
            )
            project = project or resolver.project(session, source.project_id).name
        return self._create(new_tag, project, plan)

    def duplicate(
        self, name: str, new_tag: str, with_data: bool = False, project: str | None = None
    ) -> PipelineView:
        """A copy of the pipeline's own nodes; nodes it references stay references."""
        with self.context.store.read() as session:
            source = resolver.pipeline(session, name)
            check_pipeline_tag_free(session, new_tag)
            plan = self._union_plan(session, [source.id], with_data, "duplicate")
            project = project or resolver.project(session, source.project_id).name
        return self._create(new_tag, project, plan)

    def merge(
        self, names: list[str], new_tag: str, with_data: bool = False, project: str | None = None
    ) -> PipelineView:
        """A new pipeline holding the union of several: shared nodes appear once."""
        with self.context.store.read() as session:
            sources = list(
                {p.id: p for p in (resolver.pipeline(session, n) for n in names)}.values()
            )
            if len(sources) < 2:
                raise InvalidInputError("merge needs at least two different pipelines")
            check_pipeline_tag_free(session, new_tag)
            plan = self._union_plan(session, [p.id for p in sources], with_data, "merge")
            project = project or resolver.project(session, sources[0].project_id).name
        return self._create(new_tag, project, plan)

    @staticmethod
    def _union_plan(
        session: StoreSession, source_ids: list[str], with_data: bool, kind: str
    ) -> _NewPipelinePlan:
        layout: dict[str, tuple[float, float]] = {}
        owners: dict[str, str] = {}
        for pipeline_id in source_ids:
            positions = positions_in(session, pipeline_id)
            fresh = {k: v for k, v in positions.items() if k not in layout}
            shift = 0.0
            if layout and fresh:
                lowest = max(y for _, y in layout.values())
                shift = lowest + ROW_HEIGHT - min(y for _, y in fresh.values())
            layout.update({k: (x, y + shift) for k, (x, y) in fresh.items()})
            owners.update({n.id: n.owner_pipeline_id for n in session.list_nodes(pipeline_id)})
        owned = [node_id for node_id in layout if owners[node_id] in source_ids]
        return _NewPipelinePlan(
            copies=plan_copies(session, owned, layout, None, with_data),
            references={k: v for k, v in layout.items() if owners[k] not in source_ids},
            sources=source_ids,
            kind=kind,
        )

    def _create(self, tag: str, project: str, plan: _NewPipelinePlan) -> PipelineView:
        with staged_folders(self.context) as batch:
            for source_id, copy_id in plan.copies.id_map.items():
                batch.add_copy(source_id, copy_id, plan.copies.with_data)
            batch.install()
            with self.context.store.write() as session:
                pipeline = insert_pipeline(session, tag, project)
                for node_id, (x, y) in plan.references.items():
                    session.insert_membership(Membership(pipeline.id, node_id, x, y))
                insert_copies(session, plan.copies, pipeline.id)
                for source_id in plan.sources:
                    session.insert_lineage(
                        Lineage(pipeline.id, source_id, plan.kind, plan.from_node_id)
                    )
                return pipeline_view(session, pipeline)
