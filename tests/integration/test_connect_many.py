"""Many edges at once (``edges.connect_many``): all made in one transaction, or none.

A batch is refused as a whole, the workspace left exactly as it was, when one of its edges
would close a cycle (with existing edges or with the batch's other edges), is already there or
listed twice, takes a slot in use, names an unknown node, or its child is read-only.
"""

from __future__ import annotations

import pytest

import nodepipe
from integration.conftest import snapshot
from nodepipe import NodeState
from nodepipe.store.queries import StoreSession


@pytest.fixture
def wide(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    """``chain`` (load → clean → plot, load completed) and three unconnected nodes a, b, c."""
    chain.shared_envs.new("light")
    chain.nodes.new_many("baseline", ["a", "b", "c"], shared_env="light")
    chain.nodes.mark("load", NodeState.COMPLETED)
    chain.nodes.mark("a", NodeState.COMPLETED)
    return chain


def inputs(ws: nodepipe.Workspace, child: str) -> dict[str, str]:
    """The child's inputs: slot → parent tag."""
    child_id = ws.nodes.get(child).id
    with ws.context.store.read() as session:
        edges = session.edges_into([child_id])
        tags = {n.id: n.tag for n in session.get_nodes([e.parent_id for e in edges]).values()}
    return {edge.slot: tags[edge.parent_id] for edge in edges}


def test_a_batch_makes_every_edge_in_order_and_marks_the_children_once(
    wide: nodepipe.Workspace,
) -> None:
    made = wide.edges.connect_many(
        "baseline", [("load", "a"), ("clean", "a"), ("a", "b"), ("b", "c"), ("plot", "c", "07")]
    )
    assert [edge.slot for edge in made] == ["01", "02", "01", "01", "07"]
    assert inputs(wide, "a") == {"01": "load", "02": "clean"}
    assert inputs(wide, "c") == {"01": "b", "07": "plot"}
    a = wide.nodes.find("a")  # as the batch recorded it
    assert a.state is NodeState.STALE  # it had outputs; its inputs changed
    assert a.state_reason == "inputs 01 connected to load, 02 connected to clean"
    assert wide.nodes.get("load").state is NodeState.COMPLETED  # a parent is not touched
    assert wide.edges.connect_many("baseline", []) == []


def test_a_cycle_inside_the_batch_is_refused_with_nothing_connected(
    wide: nodepipe.Workspace,
) -> None:
    before = snapshot(wide)
    with pytest.raises(nodepipe.CycleError, match=r"cannot connect c → a: .* c → a → b → c"):
        wide.edges.connect_many("baseline", [("load", "a"), ("a", "b"), ("b", "c"), ("c", "a")])
    with pytest.raises(nodepipe.CycleError, match="cycle plot → load → clean → plot"):
        wide.edges.connect_many("baseline", [("clean", "a"), ("plot", "load")])
    with pytest.raises(nodepipe.CycleError, match="cycle b → b"):
        wide.edges.connect_many("baseline", [("a", "b"), ("b", "b")])
    assert snapshot(wide) == before


def test_duplicates_and_taken_slots_are_refused_with_nothing_connected(
    wide: nodepipe.Workspace,
) -> None:
    before = snapshot(wide)
    with pytest.raises(
        nodepipe.ConflictError, match=r"load is already input 01 of a \(listed twice\)"
    ):
        wide.edges.connect_many("baseline", [("load", "a"), ("clean", "b"), ("load", "a")])
    with pytest.raises(nodepipe.ConflictError, match=r"load is already input 01 of clean$"):
        wide.edges.connect_many("baseline", [("a", "b"), ("load", "clean")])
    with pytest.raises(nodepipe.ConflictError, match="slot 03 of a is already connected"):
        wide.edges.connect_many("baseline", [("load", "a", "03"), ("clean", "a", "03")])
    with pytest.raises(nodepipe.InvalidInputError):
        wide.edges.connect_many("baseline", [("load", "a"), ("clean", "a", "../x")])
    assert snapshot(wide) == before


def test_unknown_nodes_and_read_only_children_are_refused_with_nothing_connected(
    wide: nodepipe.Workspace,
) -> None:
    wide.pipelines.new("other")
    wide.nodes.new("other", "elsewhere", shared_env="light")
    before = snapshot(wide)
    with pytest.raises(nodepipe.NotFoundError, match="nosuch"):
        wide.edges.connect_many("baseline", [("load", "a"), ("nosuch", "b")])
    with pytest.raises(nodepipe.NotFoundError, match="elsewhere"):  # not shown in baseline
        wide.edges.connect_many("baseline", [("load", "a"), ("elsewhere", "b")])
    wide.nodes.lock("c")
    locked = snapshot(wide)
    with pytest.raises(nodepipe.ReadOnlyError, match=r"'c'.* locked"):
        wide.edges.connect_many("baseline", [("load", "a"), ("b", "c")])
    assert snapshot(wide) == locked
    wide.nodes.unlock("c")
    assert snapshot(wide) == before


def test_a_batch_resolves_its_names_without_reading_every_name(
    wide: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_name = StoreSession.node_tags_with_pipelines
    reads = [0]

    def counted(self: StoreSession) -> list[tuple[str, str, str]]:
        reads[0] += 1
        return every_name(self)

    monkeypatch.setattr(StoreSession, "node_tags_with_pipelines", counted)
    ids = {tag: wide.nodes.get(tag).id for tag in ("a", "b", "c")}
    wide.edges.connect_many("baseline", [("load", ids["a"]), (ids["a"], "b"), ("b", ids["c"])])
    assert reads[0] == 0
    assert inputs(wide, "c") == {"01": "b"}
