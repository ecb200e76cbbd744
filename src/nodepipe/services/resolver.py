"""Resolving what users type (ids, tags, id prefixes) into store values, inside a transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from nodepipe.domain.errors import NotFoundError
from nodepipe.domain.model import Node, Pipeline, Project
from nodepipe.domain.names import listed, named_by_text
from nodepipe.domain.resolve import Candidate, resolve
from nodepipe.domain.runs import Run

if TYPE_CHECKING:
    from nodepipe.store.light_edges import EdgeWrites
    from nodepipe.store.light_read import LightReads
    from nodepipe.store.queries import StoreSession


def project(session: LightReads, name: str) -> Project:
    projects = session.list_projects()
    project_id = resolve(name, [Candidate(p.id, p.name) for p in projects], "project")
    return next(p for p in projects if p.id == project_id)


def pipeline(session: LightReads, name: str) -> Pipeline:
    pipelines = session.list_pipelines()
    pipeline_id = resolve(name, [Candidate(p.id, p.tag) for p in pipelines], "pipeline")
    return next(p for p in pipelines if p.id == pipeline_id)


def node(session: LightReads, name: str, within: Pipeline | None = None) -> Node:
    """The node called ``name``; with ``within``, only nodes shown in that pipeline count."""
    # an exact id or tag is found by its index; only a prefix or a typo reads every name
    named_by_text(name, "node")
    found = session.get_node(_node_id(session, name, session.node_tags_named(name), within))
    assert found is not None  # resolved from the same transaction
    return found


def node_here_first(session: LightReads, name: str, here: Pipeline) -> Node:
    """The node called ``name`` in ``here`` if it shows one, else in the whole workspace (a
    tag several pipelines share names the one of the pipeline in hand)."""
    try:
        return node(session, name, here)
    except NotFoundError:
        return node(session, name)


def nodes_named(
    session: EdgeWrites, names: Collection[str], within: Pipeline | None = None
) -> dict[str, Node]:
    """``node`` for many names, by one indexed query for the exact ids and tags and one read
    of the nodes: each name maps to its node (the same errors as ``node``)."""
    for name in names:
        named_by_text(name, "node")
    named: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for entry in session.node_tags_named_any(names):
        for key in {entry[0], entry[1]}:
            named[key].append(entry)
    ids = {name: _node_id(session, name, named.get(name, []), within) for name in names}
    found = session.get_nodes(set(ids.values()))
    return {name: found[node_id] for name, node_id in ids.items()}


def _node_id(
    session: LightReads,
    name: str,
    named: list[tuple[str, str, str]],
    within: Pipeline | None,
) -> str:
    """Resolve ``name`` among ``named`` (memberships of nodes whose id or tag is ``name``), or
    among every name when none match exactly."""
    shown_in: dict[tuple[str, str], list[str]] = defaultdict(list)
    if within is not None:
        named = [entry for entry in named if entry[2] == within.tag]
    for node_id, tag, pipeline_tag in named or session.node_tags_with_pipelines():
        if within is None or pipeline_tag == within.tag:
            shown_in[(node_id, tag)].append(pipeline_tag)
    candidates = [
        Candidate(node_id, tag, "in " + ", ".join(sorted(tags)))
        for (node_id, tag), tags in shown_in.items()
    ]
    scope = f"pipeline {within.tag!r}" if within else ""
    return resolve(name, candidates, "node", scope)


def nodes(session: LightReads, names: Iterable[str], within: Pipeline | None = None) -> list[Node]:
    resolved = [node(session, name, within) for name in listed(names, "the node names")]
    return list({n.id: n for n in resolved}.values())


def run(session: StoreSession, run_id: str) -> Run:
    """The run ``run_id``, or the one run whose id starts with it."""
    named_by_text(run_id, "run")
    found = session.get_run(run_id)
    if found is None:
        matches = [r for r in session.list_runs(limit=10_000) if r.id.startswith(run_id)]
        if len(matches) != 1:
            raise NotFoundError(f"no run {run_id!r}")
        found = matches[0]
    return found
