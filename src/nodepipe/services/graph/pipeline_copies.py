"""Use cases that make new pipelines out of existing ones: branch, duplicate, merge.

A merge keeps one tag per pipeline: a node of a later source whose tag an earlier one (or a
node the merge references) already has is copied as ``TAG-copy`` (``TAG-copy-2``...), the rule
``node duplicate`` follows, and the merge says so (``Merged.renamed``). A node both sources
show is one node, not a clash. ``allow_duplicate_tag`` keeps every tag as it is.

The new pipeline remembers its sources' bundle inputs, on the copies (``carried_inputs``), in
the transaction that makes it; a merge tells an input name two sources declare for different
nodes (``Merged.warnings``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nodepipe.domain.errors import Action, ConflictError, Hint, InvalidInputError
from nodepipe.domain.graph import ancestors, descendants
from nodepipe.domain.model import Lineage, Membership, Pipeline, PipelineView
from nodepipe.domain.names import listed
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.carried_inputs import Clash, carried_inputs
from nodepipe.services.graph.copying import CopyPlan, insert_copies, plan_copies, positions_in
from nodepipe.services.graph.effective import effective_view, pipeline_view
from nodepipe.services.graph.membership import ROW_HEIGHT, free_tag_among
from nodepipe.services.graph.pipelines import (
    check_pipeline_tag_free,
    insert_pipeline,
)
from nodepipe.services.graph.staged_folders import staged_folders

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession


@dataclass(frozen=True, slots=True)
class _NewPipelinePlan:
    """A pipeline to create: copies of some nodes, references to others, and its lineage."""

    copies: CopyPlan
    references: dict[str, tuple[float, float]]
    sources: list[str]
    kind: str
    from_node_id: str | None = None
    renamed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Merged:
    """What ``merge`` made: the new pipeline, and the nodes copied under another tag."""

    view: PipelineView
    renamed: tuple[str, ...]
    """``TAG of SOURCE → NEW-TAG`` for each node renamed to keep one tag per pipeline."""
    warnings: tuple[str, ...] = ()
    """An input name two sources declare for different nodes: the merged pipeline declares
    one input taken by all of them."""


@dataclass(frozen=True, slots=True)
class PipelineCopyService:
    context: WorkspaceContext

    def branch(
        self, name: str, from_node: str, new_tag: str, project: str | None = None
    ) -> PipelineView:
        """A new pipeline: upstream of ``from_node`` shared by reference, it and below copied."""
        with self.context.store.read() as session:
            plan, project = _branch_plan(session, name, from_node, new_tag, project)
        return self._create(new_tag, project, plan)[0]

    def duplicate(
        self, name: str, new_tag: str, with_data: bool = False, project: str | None = None
    ) -> PipelineView:
        """A copy of the pipeline's own nodes; nodes it references stay references."""
        with self.context.store.read() as session:
            plan, project = _duplicate_plan(session, name, new_tag, with_data, project)
        return self._create(new_tag, project, plan)[0]

    def merge(
        self,
        names: list[str],
        new_tag: str,
        with_data: bool = False,
        project: str | None = None,
        *,
        allow_duplicate_tag: bool = False,
    ) -> Merged:
        """A new pipeline holding the union of several: shared nodes appear once; a later
        source's node whose tag is taken is renamed (unless ``allow_duplicate_tag``)."""
        with self.context.store.read() as session:
            plan, project, tags = _merge_plan(
                session, names, new_tag, with_data, project, allow_duplicate_tag
            )
        view, clashes = self._create(new_tag, project, plan)
        warnings = tuple(_clash_warning(view, clash, tags) for clash in clashes)
        return Merged(view, plan.renamed, warnings)

    # What each would refuse before it copies anything, refused now: a surface that runs the
    # copy in the background (the web app) asks first, so the refusal is said where the tag
    # was typed. The copy itself checks again (another tag may be taken meanwhile).

    def check_branch(
        self, name: str, from_node: str, new_tag: str, project: str | None = None
    ) -> None:
        """Refuse now what ``branch`` would: an unknown pipeline, node or project, a tag
        invalid or taken."""
        with self.context.store.read() as session:
            _branch_plan(session, name, from_node, new_tag, project)

    def check_duplicate(
        self, name: str, new_tag: str, with_data: bool = False, project: str | None = None
    ) -> None:
        """Refuse now what ``duplicate`` would: an unknown pipeline or project, a tag invalid
        or taken."""
        with self.context.store.read() as session:
            _duplicate_plan(session, name, new_tag, with_data, project)

    def check_merge(
        self,
        names: list[str],
        new_tag: str,
        with_data: bool = False,
        project: str | None = None,
        *,
        allow_duplicate_tag: bool = False,
    ) -> None:
        """Refuse now what ``merge`` would: fewer than two different pipelines, an unknown
        one or project, a tag invalid or taken, two references of one tag (unless
        ``allow_duplicate_tag``)."""
        with self.context.store.read() as session:
            _merge_plan(session, names, new_tag, with_data, project, allow_duplicate_tag)

    def _create(
        self, tag: str, project: str, plan: _NewPipelinePlan
    ) -> tuple[PipelineView, tuple[Clash, ...]]:
        """The new pipeline, in one transaction with the inputs it remembers; and the input
        names its sources declare for different nodes."""
        with staged_folders(self.context) as batch:
            for source_id, copy_id in plan.copies.id_map.items():
                batch.add_copy(source_id, copy_id, plan.copies.with_data)
            batch.install()
            with self.context.store.write() as session:
                pipeline = insert_pipeline(session, tag, project)
                for node_id, (x, y) in plan.references.items():
                    session.insert_membership(Membership(pipeline.id, node_id, x, y))
                insert_copies(session, plan.copies, pipeline.id)
                carried = carried_inputs(
                    [(s, session.pipeline_inputs(s)) for s in plan.sources],
                    plan.copies.id_map,
                    {*plan.references, *plan.copies.id_map.values()},
                )
                if carried.inputs:  # the sources' bundle inputs, on the copies
                    session.set_pipeline_inputs(pipeline.id, carried.inputs)
                for source_id in plan.sources:
                    session.insert_lineage(
                        Lineage(pipeline.id, source_id, plan.kind, plan.from_node_id)
                    )
                view = pipeline_view(session, pipeline)
        with self.context.store.light_read() as session:  # the copies' states, as `show` has them
            return effective_view(self.context, session, view), carried.clashes


def _new_project(session: StoreSession, project: str | None, source: Pipeline) -> str:
    """The project the new pipeline goes into: ``project`` (which must exist), else the
    source's."""
    return resolver.project(session, project or source.project_id).id


def _branch_plan(
    session: StoreSession, name: str, from_node: str, new_tag: str, project: str | None
) -> tuple[_NewPipelinePlan, str]:
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
    return plan, _new_project(session, project, source)


def _duplicate_plan(
    session: StoreSession, name: str, new_tag: str, with_data: bool, project: str | None
) -> tuple[_NewPipelinePlan, str]:
    source = resolver.pipeline(session, name)
    check_pipeline_tag_free(session, new_tag)
    plan = _union_plan(session, [source.id], with_data, "duplicate")
    return plan, _new_project(session, project, source)


def _merge_plan(
    session: StoreSession,
    names: list[str],
    new_tag: str,
    with_data: bool,
    project: str | None,
    allow_duplicate_tag: bool,
) -> tuple[_NewPipelinePlan, str, dict[str, str]]:
    """The plan, the new pipeline's project, and each source's tag by its id."""
    named = (resolver.pipeline(session, n) for n in listed(names, "the pipelines"))
    sources = list({p.id: p for p in named}.values())
    if len(sources) < 2:
        raise InvalidInputError("merge needs at least two different pipelines")
    check_pipeline_tag_free(session, new_tag)
    tags = {p.id: p.tag for p in sources}
    plan = _union_plan(session, list(tags), with_data, "merge")
    if not allow_duplicate_tag:
        plan = _one_tag_each(session, plan, tags)
    return plan, _new_project(session, project, sources[0]), tags


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


def _clash_warning(view: PipelineView, clash: Clash, sources: dict[str, str]) -> str:
    """``input 'raw' is declared by A (taken by load) and by B (taken by load-copy): ...``."""

    def tags(node_ids: tuple[str, ...]) -> str:
        return ", ".join(sorted(view.node(i).node.tag for i in node_ids))

    by = [f"by {sources[s]} (taken by {tags(node_ids)})" for s, node_ids in clash.declared]
    every = tuple(sorted({i for _, node_ids in clash.declared for i in node_ids}))
    return (
        f"input {clash.name!r} is declared {', '.join(by[:-1])} and {by[-1]}: the merged "
        f"pipeline declares one input {clash.name!r}, taken by {tags(every)} (whoever "
        "includes it feeds them all from one node)"
    )


def _one_tag_each(
    session: StoreSession, plan: _NewPipelinePlan, sources: dict[str, str]
) -> _NewPipelinePlan:
    """``plan`` with its copies renamed where a tag would be shown twice: references keep
    their own tags (a reference has no alias), copies are taken in the sources' order."""
    copied = plan.copies.id_map
    nodes = session.get_nodes([*plan.references, *copied])
    taken: dict[str, str] = {}
    for node_id in plan.references:
        tag = nodes[node_id].tag
        if tag in taken:
            raise ConflictError(
                f"the merge would show two nodes tagged {tag!r} that none of its pipelines own "
                f"({taken[tag]} and {node_id}); rename one of them",
                hint=Hint(Action.TAG_DUPLICATE, {"tag": tag}),
            )
        taken[tag] = node_id
    origin = _first_source(session, list(copied), list(sources))
    tags: dict[str, str] = {}
    order = {source: index for index, source in enumerate(sources)}
    renamed: list[tuple[int, str, str]] = []
    for node_id in copied:  # in the sources' order (``_union_plan``'s layout)
        tag = nodes[node_id].tag
        if tag in taken:
            tags[node_id] = free_tag_among(tag, taken)
            source = origin[node_id]
            renamed.append((order[source], tag, f"{tag} of {sources[source]} → {tags[node_id]}"))
            tag = tags[node_id]
        taken[tag] = node_id
    copies = replace(plan.copies, tags=tags)
    # told in the sources' order, then by tag: the same merge always reads the same
    return replace(plan, copies=copies, renamed=tuple(text for *_, text in sorted(renamed)))


def _first_source(
    session: StoreSession, node_ids: list[str], source_ids: list[str]
) -> dict[str, str]:
    """Node id -> the first of ``source_ids`` showing it."""
    showing = session.pipelines_showing(node_ids)
    return {n: next(p for p in source_ids if p in showing[n]) for n in node_ids}
