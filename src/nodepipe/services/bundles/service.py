"""``ws.bundles``: export, import and check bundles; list, add and update a pipeline's includes.

The one entry point the CLI, the web API and the Python API call for bundles. Results are
typed values (``ExportResult``, ``ImportResult``, ``CheckResult``, ``IncludeView``,
``UpdateResult``) so that every surface renders the same facts.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from nodepipe.bundles.errors import problems_in
from nodepipe.bundles.lockfile import dump_lock
from nodepipe.bundles.model import BUNDLE_FILE, LOCK_FILE, EdgeEntry, IncludeEntry, frozen_mapping
from nodepipe.bundles.schema import dump_definition
from nodepipe.domain.arguments import mapping_of, path_of
from nodepipe.domain.bundles import PipelineInclude
from nodepipe.domain.errors import Action, Hint, NameTakenError
from nodepipe.domain.model import PipelineView
from nodepipe.domain.names import listed
from nodepipe.domain.runs import check_jobs
from nodepipe.services import resolver
from nodepipe.services.bundles.creation import SyncProgress
from nodepipe.services.bundles.export_dir import (
    RememberedInputs,
    check_target,
    writing_directory,
)
from nodepipe.services.bundles.export_links import check_links
from nodepipe.services.bundles.export_names import check_names
from nodepipe.services.bundles.exporting import (
    ExportPlan,
    check_sources,
    declared_inputs,
    plan_export,
    with_inputs,
    write_libs,
    write_nodes,
)
from nodepipe.services.bundles.importing import (
    ImportResult,
    check_import_target,
    default_jobs,
    import_resolved,
)
from nodepipe.services.bundles.including import (
    check_feeders,
    feeders_by_tag,
    include_resolved,
    input_node,
)
from nodepipe.services.bundles.kept_includes import kept_source
from nodepipe.services.bundles.node_python import check_python
from nodepipe.services.bundles.prefixing import as_included, check_included_names, input_edges
from nodepipe.services.bundles.reading import (
    checked_bundle,
    importable_bundle,
    read_for_import,
)
from nodepipe.services.bundles.updating import (
    UpdateResult,
    check_include_feeders,
    check_recorded_feeders,
    current_include,
    update_include,
)
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.graph.effective import pipeline_view
from nodepipe.services.guards import check_pipeline_editable
from nodepipe.services.runs.status import compute_statuses
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.node_folder import NodeFolder


@contextmanager
def named_anew() -> Iterator[None]:
    """An import whose tag (the bundle's name, or the one given) another pipeline has: the
    refusal names the way out, another tag (``Action.BUNDLE_NAME``), about the ``name``."""
    try:
        yield
    except NameTakenError as taken:  # the one name an import checks: the pipeline's tag
        raise NameTakenError(str(taken), "name", hint=Hint(Action.BUNDLE_NAME)) from None


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    pipeline: str
    directory: Path
    nodes: tuple[str, ...]
    """The node keys written under ``nodes/``."""
    includes: tuple[str, ...]
    """The namespaces written back as ``[includes.NS]``."""
    inlined: tuple[str, ...]
    """The namespaces whose nodes were written as ordinary nodes (see ``exporting``)."""
    with_data: tuple[str, ...]
    """The node keys whose ``data/`` was written."""
    inputs: dict[str, tuple[str, ...]]
    """The bundle's ``[inputs]``: input name → the node keys that take it."""
    warnings: tuple[str, ...] = ()
    """What the export did that was not asked for: a declared input it left out (a node the
    pipeline now feeds on that slot itself), no longer declared by the pipeline either."""
    included: tuple[str, ...] = ()
    """The nodes of the kept includes (qualified names, ``NS.key``): in the bundle by its
    ``[includes.NS]``, no folder of theirs written (but ``data/`` with ``with_data``)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What ``check`` found: the bundle's name and size, and every problem (none: fine)."""

    directory: Path
    name: str | None
    nodes: int
    includes: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def shown(self, all_in: str) -> tuple[str, ...]:
        """The problems a message shows: the first ``SHOWN_PROBLEMS``, then "and N more
        (``all_in`` lists all)" (``bundles.errors.shown_problems``)."""
        from nodepipe.bundles.errors import shown_problems

        return shown_problems(self.problems, all_in)


@dataclass(frozen=True, slots=True)
class IncludeView:
    """One include of a pipeline with the tags of the nodes that came from it."""

    include: PipelineInclude
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BundleService:
    context: WorkspaceContext

    def export(
        self,
        pipeline: str,
        directory: Path | str,
        with_data: bool = False,
        force: bool = False,
        portable: bool = False,
        inputs: Mapping[str, Sequence[str]] | None = None,
        *,
        links_of: Collection[str] | None = None,
    ) -> ExportResult:
        """Write ``pipeline`` as a bundle in ``directory`` (new or empty; replaced with
        ``force``): ``pipeline.toml``, ``pipeline.lock``, ``nodes/<tag>/code`` (and ``data``
        with ``with_data``), ``lib/`` for linked bundle code. ``portable``: an include found
        in a local folder is inlined, not written back relative to ``directory`` (a bundle
        that travels alone, as a zip, has no neighbours); packages and URLs are kept.
        ``inputs``: the bundle's inputs (``[inputs]``), input name → the nodes (tags) that
        take it on that slot when the bundle is included elsewhere; the pipeline remembers
        them (``{}`` clears them) once the export is written. None: the inputs the pipeline
        declares (set by the import that made it or by an earlier export with inputs), less a
        node the pipeline now feeds on that slot itself: left out, here and in what the
        pipeline declares once the export is written, and said in ``ExportResult.warnings``.
        A link in a node's ``code/`` (or ``data/``, ``with_data``) leading outside the node is
        refused before anything is written (``export_links``); ``links_of``: only those nodes'
        (tags), for a package of some nodes (the others are dropped from the export)."""
        if inputs is not None:
            inputs = {
                name: listed(tags, f"the nodes taking input {name!r}")
                for name, tags in mapping_of(inputs, "the bundle's inputs").items()
            }
        target = Path(os.path.normpath(path_of(directory, "the export's folder").absolute()))
        check_target(target, force, self.context.layout)
        plan = self._plan(pipeline, target, portable)
        given = inputs is not None
        plan = with_inputs(plan, inputs if inputs is not None else declared_inputs(plan), given)
        node_ids = {key: node_id for node_id, key in plan.keys.items()}
        check_names(plan.definition, plan.pipeline_id, node_ids, plan.included)
        check_sources(plan)
        check_python(plan)
        check_links(plan, with_data, links_of)
        written = dump_definition(plan.definition)
        remembered = None
        if plan.remember is not None:
            remembered = RememberedInputs(plan.pipeline_id, plan.remember, written)
        with writing_directory(self.context, target, remembered) as staging:
            write_nodes(plan, staging, with_data, target)
            crash_point("export.nodes-written")
            write_libs(plan, staging)
            (staging / BUNDLE_FILE).write_text(written, encoding="utf-8")
            (staging / LOCK_FILE).write_text(dump_lock(plan.lock), encoding="utf-8")
        return ExportResult(
            plan.definition.name,
            target,
            tuple(sorted(plan.folders)),
            plan.kept,
            plan.inlined,
            tuple(sorted(plan.data)),
            dict(plan.definition.inputs),
            plan.warnings,
            tuple(sorted(plan.included)),
        )

    def declare_inputs(
        self, pipeline: str, inputs: Mapping[str, Sequence[str]]
    ) -> dict[str, tuple[str, ...]]:
        """The pipeline declares ``inputs`` from now on (input name → the nodes, ids or tags,
        that take it; ``{}`` clears them): what ``export(..., inputs=...)`` remembers, without
        writing a bundle. Refused as that export refuses them, changing nothing: a name that is
        not a slot, a node the pipeline does not show (the error names the input), a node that
        already reads that slot from a node of the pipeline. Checked against the bundle a zip
        of the pipeline holds (``portable``: local includes inlined, so their nodes may take
        an input). Returns what the pipeline declares now: input name → node ids."""
        named = {
            name: listed(refs, f"the nodes taking input {name!r}")
            for name, refs in mapping_of(inputs, "the pipeline's inputs").items()
        }
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            tags = {
                name: [input_node(session, target, name, ref).tag for ref in refs]
                for name, refs in named.items()
            }
        plan = with_inputs(self._plan(target.id, self.context.layout.staging_dir, True), tags)
        with self.context.store.write() as session:
            session.set_pipeline_inputs(target.id, plan.remember or {})
            return session.pipeline_inputs(target.id)

    def import_(
        self,
        directory: Path | str,
        project: str | None = None,
        name: str | None = None,
        jobs: int | None = None,
        on_synced: SyncProgress | None = None,
        confined: bool = False,
    ) -> ImportResult:
        """Create a pipeline from the bundle in ``directory`` (tag: ``name``, else the
        bundle's), all or nothing; nodes whose data ``pipeline.lock`` vouches for are
        completed. ``confined``: a bundle received from someone else (a server's upload),
        whose includes are looked for inside its folder alone (``bundles.lookup``)."""
        check_jobs(jobs, "environments")
        resolved, locked = importable_bundle(
            path_of(directory, "the bundle's folder"), Path.cwd(), confined
        )
        with named_anew():
            return import_resolved(
                self.context,
                resolved,
                name=name or resolved.definition.name,
                project=project,
                with_data=True,
                locked=locked,
                root=resolved.files,
                jobs=jobs,
                on_synced=on_synced,
            )

    def check_import(self, name: str, project: str | None = None) -> None:
        """Refuse now, changing nothing, what ``import_`` as ``name`` (the tag given, else the
        bundle's) into ``project`` would refuse before it copies anything: a tag invalid or
        another pipeline's (NameTakenError about ``name``, naming another tag as the way out),
        an unknown project (a surface that imports in the background asks first)."""
        with named_anew():
            check_import_target(self.context, name, project)

    def check(self, directory: Path | str, confined: bool = False) -> CheckResult:
        """Validate the bundle in ``directory`` without changing anything: every problem
        ``import_`` would refuse it for, all at once (the same reading, ``read_for_import``;
        ``confined`` as there)."""
        target = Path(os.path.normpath(path_of(directory, "the bundle's folder").absolute()))
        reading = read_for_import(target, Path.cwd(), confined)
        problems = tuple(p for error in reading.errors for p in problems_in(error))
        resolved = reading.resolved
        if resolved is None:
            return CheckResult(target, None, 0, (), problems)
        return CheckResult(
            target,
            resolved.definition.name or None,  # "": only the nodes of a broken file were read
            len(resolved.nodes),
            tuple(i.namespace for i in resolved.includes),
            problems,
        )

    def includes(self, pipeline: str) -> list[IncludeView]:
        """The includes of ``pipeline`` (at every depth), with their nodes' tags."""
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            rows = [
                replace(row, inputs=feeders_by_tag(session, target, row.inputs))
                if row.is_top_level
                else row
                for row in session.includes_of_pipeline(target.id)
            ]
            members = session.include_members([r.id for r in rows])
            tags = {n.id: n.tag for n in session.list_nodes(target.id)}
        return [
            IncludeView(
                row,
                tuple(sorted(tags[m.node_id] for m in members if m.include_id == row.id)),
            )
            for row in rows
        ]

    def include(
        self,
        pipeline: str,
        source: str,
        namespace: str,
        inputs: Mapping[str, str] | None = None,
        jobs: int | None = None,
        on_synced: SyncProgress | None = None,
    ) -> PipelineView:
        """Add the bundle at ``source`` to ``pipeline``: its nodes as ``namespace.key`` in a
        group ``namespace``, its inputs fed by the nodes ``inputs`` names (input → tag)."""
        check_jobs(jobs, "environments")
        self.check_include(pipeline, namespace, inputs or {})  # taken: said before its inputs
        bundle = checked_bundle(source, Path.cwd())
        entry = IncludeEntry(namespace, source, frozen_mapping(inputs), frozen_mapping())
        resolved, _ = as_included(bundle.resolved, entry, bundle.content_hash)
        check_included_names(resolved, namespace)
        return include_resolved(
            self.context,
            pipeline,
            resolved,
            input_edges(bundle.resolved, namespace, dict(inputs or {})),
            jobs or default_jobs(),
            on_synced,
        )

    def check_include(self, pipeline: str, namespace: str, inputs: Mapping[str, str]) -> None:
        """Refuse at once what ``include`` would refuse before reading its bundle: a
        namespace that is not a name or is taken, a locked pipeline, a feeder (``inputs``:
        input → node) the pipeline does not show (the error names the input)."""
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            check_feeders(session, target, namespace, mapping_of(inputs, "the include's inputs"))

    def update(
        self,
        pipeline: str,
        namespace: str,
        confirm_removals: bool = False,
        jobs: int | None = None,
        on_synced: SyncProgress | None = None,
        replace_edits: bool = False,
        inputs: Mapping[str, str] | None = None,
    ) -> UpdateResult:
        """Re-read the include ``namespace`` of ``pipeline`` from where it was found and
        update its nodes in place (removals only with ``confirm_removals``).

        ``inputs`` (input → node of the pipeline, as ``include`` takes them): feed the
        bundle's inputs from these nodes from now on; None keeps what the include feeds (a
        bundle that renamed, added or dropped an input refuses that: ``InputsChangedError``).

        A node edited since the include installed its code, whose code the update would
        replace, refuses the update (``EditedNodesError``, nothing changed); with
        ``replace_edits`` its code is replaced after being copied to
        ``<node>/undone-edits/include-NS.<8 hex>/`` (``UpdateResult.kept``)."""
        check_jobs(jobs, "environments")
        with self.context.store.read() as session:
            target = resolver.pipeline(session, pipeline)
            check_pipeline_editable(target)
            current = current_include(session, target, namespace)
            if inputs is not None:
                check_include_feeders(session, current, inputs)
            else:
                check_recorded_feeders(session, current)
            named = feeders_by_tag(session, target, current.top.inputs)
        row = current.top
        source: str | Path = Path(row.location) if row.loader == "file" else row.source
        bundle = checked_bundle(source, Path.cwd())
        feeds = dict(row.inputs) if inputs is None else dict(inputs)
        entry = IncludeEntry(namespace, row.source, frozen_mapping(feeds), row.params)
        resolved, top = as_included(bundle.resolved, entry, bundle.content_hash)
        check_included_names(resolved, namespace, current.nodes)
        return update_include(
            self.context,
            current,
            resolved,
            top,
            input_edges(bundle.resolved, namespace, feeds, inputs is not None, named),
            confirm_removals,
            jobs or default_jobs(),
            on_synced,
            replace_edits,
        )

    def _plan(self, pipeline: str, directory: Path, portable: bool = False) -> ExportPlan:
        layout = self.context.layout

        def keep(
            include: PipelineInclude,
            folders: Mapping[str, NodeFolder],
            edges: frozenset[EdgeEntry],
        ) -> str | None:
            if portable and include.loader == "file":
                return None
            return kept_source(include, folders, edges, directory, layout.staging_dir)

        with self.context.store.read() as session:
            view = pipeline_view(session, resolver.pipeline(session, pipeline))
            statuses = compute_statuses(self.context, session, view)
            return plan_export(session, view, statuses, layout.node_folder, keep)
