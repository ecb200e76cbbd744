"""The API's fast ``PipelineGraph`` (``schemas.graph_json``) is the schema's JSON, byte for byte.

``GET /api/pipelines/{p}`` writes its answer straight from the view's values instead of
validating a ``CanvasNode`` and an ``EdgePublic`` per node and edge. Here both are asked of
views holding every kind of value a graph carries (each state, computed reasons, references,
locked nodes, groups, every isolation, lineage, odd floats, quotes, control characters and
non-ASCII text), and must give the same bytes; and the API still declares the schema.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from nodepipe.api.openapi import openapi_document
from nodepipe.domain.model import (
    Edge,
    Group,
    Lineage,
    Membership,
    Node,
    Pipeline,
    PipelineNode,
    PipelineView,
    Project,
)
from nodepipe.domain.states import NodeState
from nodepipe.schemas.graph import CanvasNode, PipelineGraph
from nodepipe.schemas.graph_json import pipeline_graph_json, pipeline_graph_parts

WHEN = datetime(2025, 3, 1, 9, 0, 5, 120034, tzinfo=UTC)
ODD_TEXT = 'quote " back\\slash \x01 tab\t new\nline ünïcode 漢字 😀 </script> [x]'
PLACES = [0.0, -12.5, 1e-7, 123456789.125, 3.0, float("inf"), float("nan"), -0.0]
ISOLATIONS = ["own", "shared:trivial", "interpreter:/usr/bin/python3"]


def rich_view(count: int = 40) -> PipelineView:
    """A view with every state, reason, flag, isolation and odd value, two groups, a node
    shown by reference (owned elsewhere), lineage both ways and declared inputs."""
    project = Project("p1", "climate", ODD_TEXT, WHEN)
    pipeline = Pipeline("pl1", "base line", "p1", "notes\nmore", True, WHEN, ("numpy==2.1.0",))
    groups = (Group("g1", "pl1", "the left side", True), Group("g2", "pl1", ODD_TEXT, False))
    states = list(NodeState)
    items = []
    for i in range(count):
        node = Node(
            id=f"n{i:03d}",
            tag=f"step {i}" if i % 7 else ODD_TEXT,
            notes="" if i % 3 else f"note {i} ✓",
            state=states[i % len(states)],
            state_reason="; ".join(["code changed: main.py", "parent 01 (load) is stale"][: i % 3]),
            locked=i % 4 == 0,
            owner_pipeline_id="other" if i % 5 == 0 else "pl1",
            created_at=WHEN.replace(microsecond=0) if i % 2 else WHEN,
        )
        place = Membership(
            "pl1",
            node.id,
            PLACES[i % len(PLACES)],
            i * 110.5,
            ("g1", "g2")[i % 2] if i % 3 else None,
        )
        items.append(PipelineNode(node, place, i % 5 == 0, ISOLATIONS[i % len(ISOLATIONS)]))
    edges = tuple(
        Edge(f"n{parent:03d}", f"n{child:03d}", f"{slot:02d}" if slot % 2 else f"input {slot}")
        for child in range(1, count)
        for slot, parent in enumerate(sorted({child // 2, child - 1}), start=1)
    )
    lineage = (Lineage("pl1", "pl0", "branch", "n001"), Lineage("pl2", "pl1", "duplicate", None))
    declared = {
        "input 1": tuple(i.node.id for i in items[:2]),
        "raw": tuple(i.node.id for i in items[1:2]),
    }
    declared = {name: ids for name, ids in declared.items() if ids}
    return PipelineView(pipeline, project, tuple(items), edges, groups, lineage, declared)


@pytest.mark.parametrize("count", [0, 1, 40])
def test_the_fast_graph_is_the_schemas_json_byte_for_byte(count: int) -> None:
    view = rich_view(count)
    validated = PipelineGraph.model_validate(view).model_dump_json().encode()
    assert pipeline_graph_json(view) == validated
    answer = json.loads(validated)
    assert len(answer["nodes"]) == count and len(answer["edges"]) == len(view.edges)
    if count == 40:  # every kind of value really is in there
        nodes = answer["nodes"]
        assert {n["state"] for n in nodes} == {s.value for s in NodeState}
        assert {n["isolation"] for n in nodes} == set(ISOLATIONS)
        assert {n["reference"] for n in nodes} == {True, False}
        assert {n["group_id"] for n in nodes} == {None, "g1", "g2"}
        assert None in {n["x"] for n in nodes}  # infinity and NaN are null, as the schema says
        assert any(n["tag"] == ODD_TEXT for n in nodes)
        assert answer["declared_inputs"] == {"input 1": ["n000", "n001"], "raw": ["n001"]}


def test_the_fast_graph_writes_every_field_of_the_schema_in_its_order() -> None:
    node = json.loads(pipeline_graph_json(rich_view(2)))["nodes"][0]
    assert list(node) == list(CanvasNode.model_fields)


def test_the_api_still_declares_the_graph_schema() -> None:
    document = openapi_document()
    answer = document["paths"]["/api/pipelines/{pipeline}"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PipelineGraph"}


def test_an_answer_written_from_the_last_ones_parts_is_the_whole_answer_byte_for_byte() -> None:
    """The web app writes again only the nodes whose values are new objects (and the edges
    when they are): the spliced answer is what writing the whole view gives."""
    view = rich_view(40)
    first, parts = pipeline_graph_parts(view, None)
    assert first == pipeline_graph_json(view)
    changed = view.nodes[7]
    renamed = PipelineNode(
        replace(changed.node, tag="renamed", state=NodeState.STALE, state_reason="code changed"),
        replace(changed.membership, x=99.5),
        changed.is_reference,
        "own",
    )
    added = PipelineNode(
        replace(view.nodes[0].node, id="new", tag="added"),
        replace(view.nodes[0].membership, node_id="new"),
        False,
    )
    nodes = (*view.nodes[:7], renamed, *view.nodes[8:20], *view.nodes[21:], added)
    after = PipelineView(view.pipeline, view.project, nodes, view.edges, view.groups)
    body, reused = pipeline_graph_parts(after, parts)
    assert body == PipelineGraph.model_validate(after).model_dump_json().encode()
    assert reused.edges is parts.edges  # the same edges object: not written again
    assert reused.nodes[view.nodes[3].node.id] is parts.nodes[view.nodes[3].node.id]
    assert view.nodes[20].node.id not in reused.nodes  # removed

    fewer = (*view.edges[:2], Edge(view.nodes[1].node.id, "new", "09"))
    rewired = PipelineView(view.pipeline, view.project, nodes, fewer, view.groups)
    body, _ = pipeline_graph_parts(rewired, reused)
    assert body == PipelineGraph.model_validate(rewired).model_dump_json().encode()


@pytest.mark.parametrize("where", ["first", "middle", "last", "two apart", "all but one"])
def test_edges_written_from_the_last_ones_are_the_whole_list_byte_for_byte(where: str) -> None:
    """Edges added and removed among the same edge values: only the span where the two differ
    is written, the rest taken from the last list, and the answer is a whole writing's. A text
    holding the separator the list is cut at makes it write the list whole."""
    view = rich_view(40)
    _, parts = pipeline_graph_parts(view, None)
    edges = list(view.edges)
    new = Edge("n001", "n039", "extra ✓")
    if where == "first":
        edges.insert(0, new)
    elif where == "middle":
        edges[30:32] = [new]
    elif where == "last":
        edges.pop()
    elif where == "two apart":
        edges[3], edges[50] = new, Edge("n002", "n030", "extra")
    else:
        edges = [edges[0], new]
    after = PipelineView(view.pipeline, view.project, view.nodes, tuple(edges), view.groups)
    body, _ = pipeline_graph_parts(after, parts)
    assert body == PipelineGraph.model_validate(after).model_dump_json().encode()

    odd = (*view.edges[:5], Edge("n001", "n002", 'a"},{"b'), *view.edges[5:])
    odd_view = PipelineView(view.pipeline, view.project, view.nodes, odd, view.groups)
    _, odd_parts = pipeline_graph_parts(odd_view, None)
    body, _ = pipeline_graph_parts(after, odd_parts)
    assert body == PipelineGraph.model_validate(after).model_dump_json().encode()
