"""Graph edits read the part of the graph they touch, whatever the pipeline's size.

A ``connect`` in a pipeline of 1,000 nodes reads as many edges and names as the same connect
in a pipeline of 100: the cycle check, the staleness and the ancestors a pipeline must show
come from the edges below and above the two nodes, and the typed names from an exact lookup.
Before, every connect read the whole edge table three times and every node name once (20 ms
per edge at 100 nodes, 150 ms at 1,000). Counted, not timed: rows turned into edges, and
reads of every name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

import nodepipe
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Membership, Node
from nodepipe.domain.states import NodeState
from nodepipe.store import rows
from nodepipe.store.queries import StoreSession

LAYER = 50


def layered_rows(ws: nodepipe.Workspace, tag: str, count: int, prefix: str = "n") -> None:
    """A pipeline of ``count`` completed nodes in layers of 50, each reading two of the layer
    above: rows only (a connect reads the store, not the node folders)."""
    pipeline = ws.pipelines.new(tag)
    ids = [new_id() for _ in range(count)]
    now = datetime.now(UTC)
    with ws.context.store.write() as session:
        for i, node_id in enumerate(ids):
            node = Node(
                node_id, f"{prefix}{i:04}", "", NodeState.COMPLETED, "", False, pipeline.id, now
            )
            session.insert_node(node)
            session.insert_membership(
                Membership(pipeline.id, node_id, i // LAYER * 240.0, i % LAYER * 90.0)
            )
        for i in range(LAYER, count):
            above = (i // LAYER - 1) * LAYER
            for slot, parent in enumerate(sorted({above + i % LAYER, above + (i + 7) % LAYER}), 1):
                session.insert_edge(Edge(ids[parent], ids[i], f"{slot:02}"))


def reads_of_one_connect(
    ws: nodepipe.Workspace, tag: str, count: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """(edges read, reads of every name) by a connect from the first layer to a new leaf."""
    layered_rows(ws, tag, count)
    leaf = f"n{count - 1:04}"
    edges_read, name_reads = [0], [0]
    to_edge = rows.edge_from_row
    every_name = StoreSession.node_tags_with_pipelines

    def counted_edge(row: Any) -> Edge:
        edges_read[0] += 1
        return to_edge(row)

    def counted_names(session: StoreSession) -> list[tuple[str, str, str]]:
        name_reads[0] += 1
        return every_name(session)

    with monkeypatch.context() as patch:
        patch.setattr(rows, "edge_from_row", counted_edge)
        patch.setattr(StoreSession, "node_tags_with_pipelines", counted_names)
        edge = ws.edges.connect("n0003", leaf, tag)
    assert edge.slot == "03"
    return edges_read[0], name_reads[0]


def test_a_connect_reads_the_same_whatever_the_pipelines_size(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = reads_of_one_connect(lab, "small", 100, monkeypatch)
    large = reads_of_one_connect(lab, "large", 1000, monkeypatch)
    assert large == small, f"edges and name reads: {small} at 100 nodes, {large} at 1,000"
    assert small[1] == 0, "exact names are looked up, not read from every node"
    # the leaf's descendants (none) and its inputs: a handful of edges, not the pipeline's
    assert small[0] < 10


def test_a_connect_in_a_large_pipeline_still_refuses_a_cycle_and_makes_the_child_stale(
    lab: nodepipe.Workspace,
) -> None:
    layered_rows(lab, "big", 500)
    # n0003 → n0053 → n0103 → ... → n0453: feeding n0453 back into n0003 closes that cycle
    with pytest.raises(nodepipe.CycleError, match=r"n0453 → n0003 → n0053 → .* → n0453"):
        lab.edges.connect("n0453", "n0003", "big")
    lab.edges.connect("n0000", "n0499", "big")
    assert lab.nodes.find("n0499", "big").state is NodeState.STALE
    assert lab.nodes.find("n0450", "big").state is NodeState.COMPLETED


def rows_read_by(action: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many node and membership rows ``action`` turned into values."""
    read = [0]
    to_node, to_membership = rows.node_from_row, rows.membership_from_row

    def counted_node(row: Any) -> Node:
        read[0] += 1
        return to_node(row)

    def counted_membership(row: Any) -> Membership:
        read[0] += 1
        return to_membership(row)

    with monkeypatch.context() as patch:
        patch.setattr(rows, "node_from_row", counted_node)
        patch.setattr(rows, "membership_from_row", counted_membership)
        action()
    return read[0]


def test_reference_and_duplicate_read_what_they_touch_whatever_the_targets_size(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Showing a node with its ancestors, or copying one, into a pipeline of 1,000 reads as
    many rows as into one of 100: placement reads the parents' spots and a column's bottom,
    tag checks the tags concerned, not every member of the target."""
    layered_rows(lab, "source", 100, prefix="s")
    lab.shared_envs.new("light")
    lab.nodes.new("source", "solo", shared_env="light")
    reads = {}
    for size in (100, 1000):
        layered_rows(lab, f"t{size}", size)
        target = f"t{size}"
        reads[size] = (
            rows_read_by(
                lambda t=target: lab.node_copies.reference(["s0060"], t, "source"), monkeypatch
            ),
            rows_read_by(
                lambda t=target: lab.node_copies.duplicate(["solo"], "source", t), monkeypatch
            ),
        )
        view = lab.pipelines.show(target)
        spots = {(i.membership.x, i.membership.y) for i in view.nodes}
        assert len(spots) == len(view.nodes), "two nodes on one spot"
        assert {"s0060", "s0010", "s0017", "solo"} <= {i.node.tag for i in view.nodes}
    assert reads[1000] == reads[100], (
        f"rows read: {reads[100]} at 100 nodes, {reads[1000]} at 1,000"
    )
