"""The ``PipelineGraph`` of a pipeline as JSON bytes, written straight from the view's values.

The canvas asks for the whole graph on every reload: at 10,000 nodes and 30,000 edges,
validating a ``CanvasNode`` and an ``EdgePublic`` from each domain value (``from_attributes``,
alias paths) costs more than reading them from the store. The values of a ``PipelineView`` are
already what the schema would make of them (built from store rows, typed), so
:func:`pipeline_graph_json` puts each node and edge into a plain mapping with the schema's
field names, in the schema's order, and pydantic-core serialises that (the same serialiser as
``model_dump_json``: same strings, timestamps, floats, enums). The small parts (the pipeline,
its project, groups, lineage) still go through their schemas; the declared inputs are plain
lists of ids.

This is the one schema written faster, not a second one: ``tests/contract/test_graph_json.py``
asserts that it gives, byte for byte, what ``PipelineGraph.model_validate(view)
.model_dump_json()`` gives on a view holding every kind of value, and that the field names here
are the schema's; the API still declares ``PipelineGraph`` as its answer (the OpenAPI document
is unchanged), and the CLI's ``--json`` still validates it.

Each node is written apart and the answer spliced from the parts (the same bytes: the serialiser
writes no spaces), so the web app, which keeps its last answer, writes again only the nodes whose
values are new objects (``GraphParts``: a view built from the last one reuses the value of each
node nothing reached, ``services.graph.view_updates``), and of the edges only those between the
last edges' common beginning and end (a view built from the last one keeps the same edge values
where they did not change: an edge added writes one edge, not 30,000).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from nodepipe.domain.model import Edge, PipelineNode, PipelineView
from nodepipe.schemas.graph import GroupPublic
from nodepipe.schemas.projects import LineagePublic, PipelinePublic, ProjectPublic


@dataclass(frozen=True, slots=True)
class GraphParts:
    """An answer's nodes as written, by id with the value each was written from, and its
    edges."""

    nodes: dict[str, tuple[PipelineNode, bytes]]
    edges: tuple[tuple[Edge, ...], bytes]
    """The edges and their JSON list."""


def pipeline_graph_json(view: PipelineView) -> bytes:
    """``PipelineGraph.model_validate(view).model_dump_json()``, without validating each node
    and edge again."""
    return pipeline_graph_parts(view, None)[0]


def pipeline_graph_parts(view: PipelineView, last: GraphParts | None) -> tuple[bytes, GraphParts]:
    """``pipeline_graph_json(view)`` and its parts, reusing those of ``last`` written from the
    very same values."""
    kept = last.nodes if last is not None else {}
    nodes: dict[str, tuple[PipelineNode, bytes]] = {}
    for item in view.nodes:
        found = kept.get(item.node.id)
        nodes[item.node.id] = (
            found if found is not None and found[0] is item else (item, _node_json(item))
        )
    if last is not None and last.edges[0] is view.edges:
        edges = last.edges
    else:
        edges = (view.edges, _edges_json(view.edges, last.edges if last is not None else None))
    body = b"".join(
        (
            b'{"pipeline":',
            _json(PipelinePublic.model_validate(view.pipeline).model_dump()),
            b',"project":',
            _json(ProjectPublic.model_validate(view.project).model_dump()),
            b',"nodes":[',
            b",".join(written for _, written in nodes.values()),
            b'],"edges":',
            edges[1],
            b',"groups":',
            _json([GroupPublic.model_validate(group).model_dump() for group in view.groups]),
            b',"lineage":',
            _json([LineagePublic.model_validate(link).model_dump() for link in view.lineage]),
            b',"declared_inputs":',
            _json({name: list(ids) for name, ids in view.declared_inputs.items()}),
            b"}",
        )
    )
    return body, GraphParts(nodes, edges)


def _node_json(item: PipelineNode) -> bytes:
    node, place = item.node, item.membership
    return _json(
        {
            "id": node.id,
            "tag": node.tag,
            "notes": node.notes,
            "state": node.state,
            "state_reason": node.state_reason,
            "locked": node.locked,
            "reference": item.is_reference,
            "owner_pipeline_id": node.owner_pipeline_id,
            "isolation": item.isolation,
            "x": float(place.x),
            "y": float(place.y),
            "group_id": place.group_id,
        }
    )


def _edges_json(edges: tuple[Edge, ...], last: tuple[tuple[Edge, ...], bytes] | None) -> bytes:
    """The JSON list of ``edges``; with ``last`` (earlier edges and their list), its written
    edges are reused before and after the span where the two differ (the same objects)."""
    if last is None or not edges or not last[0]:
        return _json([_edge(edge) for edge in edges])
    old, written = last
    start = next(
        (at for at, (a, b) in enumerate(zip(old, edges, strict=False)) if a is not b), None
    )
    if start is None:
        start = min(len(old), len(edges))
    end = 0  # edges the same at the end of both
    limit = min(len(old), len(edges)) - start
    while end < limit and old[-1 - end] is edges[-1 - end]:
        end += 1
    if (len(edges) - start - end) * 4 > len(edges):  # most of them new: written whole
        return _json([_edge(edge) for edge in edges])
    parts = written[2:-2].split(b"},{")
    if len(parts) != len(old):  # a text held "},{": its parts are not the edges
        return _json([_edge(edge) for edge in edges])
    middle = [_json(_edge(edge))[1:-1] for edge in edges[start : len(edges) - end]]
    kept = [*parts[:start], *middle, *parts[len(parts) - end :]]
    return b"[{" + b"},{".join(kept) + b"}]"


def _edge(edge: Edge) -> dict[str, str]:
    return {"parent_id": edge.parent_id, "child_id": edge.child_id, "slot": edge.slot}


def _json(value: Any) -> bytes:
    return to_json(value, inf_nan_mode="null")
