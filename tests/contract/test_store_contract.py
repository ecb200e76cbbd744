"""The store contract: what every backend must do, checked on SQLite and PostgreSQL alike.

Test data is built from small dicts that name the graph shape, ``{node tag: [parent tags]}``
with the parents in slot order (``01``, ``02``, ...). Each test writes in one transaction and
checks in another, so everything asserted here was really committed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Group, Lineage, Membership, Node, Pipeline, Project
from nodepipe.domain.states import NodeState
from nodepipe.store.queries import StoreSession
from nodepipe.store.store import Store

Shape = dict[str, list[str]]
"""A graph: each node tag with the tags of its parents, in slot order."""

CHAIN: Shape = {"load": [], "clean": ["load"], "train": ["clean"]}
DIAMOND: Shape = {"load": [], "left": ["load"], "right": ["load"], "join": ["left", "right"]}
CREATED_AT = datetime(2024, 5, 17, 13, 45, 12, 345678, tzinfo=UTC)


# builders -------------------------------------------------------------------------------
def make_project(name: str = "research") -> Project:
    return Project(id=new_id(), name=name, notes="", created_at=CREATED_AT)


def make_pipeline(project: Project, tag: str) -> Pipeline:
    return Pipeline(
        id=new_id(), tag=tag, project_id=project.id, notes="", locked=False, created_at=CREATED_AT
    )


def make_node(owner: Pipeline, tag: str, state: NodeState = NodeState.READY) -> Node:
    return Node(
        id=new_id(),
        tag=tag,
        notes="",
        state=state,
        state_reason="",
        locked=False,
        owner_pipeline_id=owner.id,
        created_at=CREATED_AT,
    )


@dataclass(frozen=True)
class Seeded:
    """A pipeline written to the store, with the ids of the nodes it shows, by tag."""

    pipeline: Pipeline
    ids: dict[str, str]

    @property
    def id(self) -> str:
        return self.pipeline.id

    def edge(self, parent: str, child: str, slot: str = "01") -> Edge:
        return Edge(parent_id=self.ids[parent], child_id=self.ids[child], slot=slot)


def seed_pipeline(
    session: StoreSession,
    project: Project,
    tag: str,
    shape: Shape,
    *,
    shown: dict[str, str] | None = None,
) -> Seeded:
    """Write a pipeline owning one node per tag of ``shape``, with memberships and edges.

    ``shown`` maps tags to nodes of other pipelines that this one shows by reference; the
    shape may name them as parents.
    """
    pipeline = make_pipeline(project, tag)
    session.insert_pipeline(pipeline)
    ids = dict(shown or {})
    for node_tag in shape:
        node = make_node(pipeline, node_tag)
        session.insert_node(node)
        ids[node_tag] = node.id
    for position, node_id in enumerate(ids.values()):
        session.insert_membership(Membership(pipeline.id, node_id, x=120.0 * position, y=-40.5))
    for child, parents in shape.items():
        for slot, parent in enumerate(parents, start=1):
            session.insert_edge(Edge(ids[parent], ids[child], slot=f"{slot:02d}"))
    return Seeded(pipeline, ids)


def assert_refused(store: Store, write: Callable[[StoreSession], object]) -> None:
    """The write transaction fails with an integrity error (and is rolled back)."""
    with pytest.raises(sa.exc.IntegrityError), store.write() as session:
        write(session)


@pytest.fixture
def project(store: Store) -> Project:
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
    return project


@pytest.fixture
def diamond(store: Store, project: Project) -> Seeded:
    with store.write() as session:
        return seed_pipeline(session, project, "diamond", DIAMOND)


@pytest.fixture
def chain_and_branch(store: Store, project: Project) -> tuple[Seeded, Seeded]:
    """``chain`` (load -> clean -> train) and ``chain-branch`` branched at ``clean``.

    The branch shows ``load`` by reference and owns its own ``clean`` and ``train``.
    """
    with store.write() as session:
        chain = seed_pipeline(session, project, "chain", CHAIN)
        branch = seed_pipeline(
            session,
            project,
            "chain-branch",
            {"clean": ["load"], "train": ["clean"]},
            shown={"load": chain.ids["load"]},
        )
    return chain, branch


# round trips ----------------------------------------------------------------------------
def test_projects_round_trip_and_list_by_name(store: Store) -> None:
    zoo = Project(id=new_id(), name="zoo", notes="multi\nline ✓", created_at=CREATED_AT)
    alpha = make_project("alpha")
    with store.write() as session:
        session.insert_project(zoo)
        session.insert_project(alpha)
    with store.read() as session:
        assert session.get_project(zoo.id) == zoo
        assert session.list_projects() == [alpha, zoo]


def test_pipelines_round_trip_and_list_by_project(store: Store, project: Project) -> None:
    other_project = make_project("other")
    locked = replace(make_pipeline(project, "locked"), notes="frozen for the paper", locked=True)
    elsewhere = make_pipeline(other_project, "elsewhere")
    with store.write() as session:
        session.insert_project(other_project)
        session.insert_pipeline(locked)
        session.insert_pipeline(elsewhere)
    with store.read() as session:
        assert session.get_pipeline(locked.id) == locked
        assert session.list_pipelines(project.id) == [locked]
        assert session.list_pipelines() == [elsewhere, locked]


def test_lineage_round_trips(store: Store, diamond: Seeded, project: Project) -> None:
    branch, duplicate = make_pipeline(project, "branch"), make_pipeline(project, "duplicate")
    records = [
        Lineage(branch.id, diamond.id, "branch", from_node_id=diamond.ids["left"]),
        Lineage(duplicate.id, diamond.id, "duplicate"),
    ]
    with store.write() as session:
        session.insert_pipeline(branch)
        session.insert_pipeline(duplicate)
        for record in records:
            session.insert_lineage(record)
    with store.read() as session:
        assert sorted(session.lineage(), key=lambda r: r.kind) == records


def test_nodes_round_trip_in_every_state(store: Store, diamond: Seeded) -> None:
    nodes = [
        replace(make_node(diamond.pipeline, f"in-{state}", state), state_reason=f"was {state}")
        for state in NodeState
    ]
    locked = replace(make_node(diamond.pipeline, "locked"), notes="keep", locked=True)
    with store.write() as session:
        for node in [*nodes, locked]:
            session.insert_node(node)
    with store.read() as session:
        found = session.get_nodes([node.id for node in [*nodes, locked]])
    assert found == {node.id: node for node in [*nodes, locked]}
    assert all(isinstance(node.state, NodeState) for node in found.values())
    assert all(node.created_at.utcoffset() == timedelta(0) for node in found.values())


def test_created_at_keeps_its_instant_whatever_the_time_zone(store: Store) -> None:
    two_hours_east = timezone(timedelta(hours=2))
    project = replace(make_project(), created_at=CREATED_AT.astimezone(two_hours_east))
    with store.write() as session:
        session.insert_project(project)
    with store.read() as session:
        stored = session.get_project(project.id)
    assert stored is not None
    assert stored.created_at == CREATED_AT  # the same instant, not the same wall-clock time


def test_names_at_the_length_limits_round_trip(store: Store) -> None:
    project = make_project("項" * 100)
    pipeline = make_pipeline(project, "é" * 100)
    parent, child = make_node(pipeline, "ß" * 100), make_node(pipeline, "child")
    edge = Edge(parent.id, child.id, slot="s" * 32)
    with store.write() as session:
        session.insert_project(project)
        session.insert_pipeline(pipeline)
        session.insert_node(parent)
        session.insert_node(child)
        session.insert_edge(edge)
    with store.read() as session:
        assert session.get_project(project.id) == project
        assert session.get_pipeline(pipeline.id) == pipeline
        assert session.get_node(parent.id) == parent
        assert session.edges_into([child.id]) == [edge]


def test_memberships_round_trip_with_positions_and_groups(
    store: Store, diamond: Seeded, project: Project
) -> None:
    viewer = make_pipeline(project, "viewer")
    group = Group(id=new_id(), pipeline_id=viewer.id, name="inputs", collapsed=True)
    grouped = Membership(viewer.id, diamond.ids["load"], x=0.1, y=-1234.75, group_id=group.id)
    loose = Membership(viewer.id, diamond.ids["left"], x=1e6, y=0.0)
    with store.write() as session:
        session.insert_pipeline(viewer)
        session.insert_group(group)
        session.insert_membership(grouped)
        session.insert_membership(loose)
    with store.read() as session:
        assert session.get_membership(viewer.id, diamond.ids["load"]) == grouped
        assert set(session.memberships_of_pipeline(viewer.id)) == {grouped, loose}


def test_edges_round_trip_with_their_slots(store: Store, diamond: Seeded) -> None:
    named = Edge(diamond.ids["load"], diamond.ids["join"], slot="weights")
    with store.write() as session:
        session.insert_edge(named)
    with store.read() as session:
        assert set(session.all_edges()) == {
            diamond.edge("load", "left"),
            diamond.edge("load", "right"),
            diamond.edge("left", "join", "01"),
            diamond.edge("right", "join", "02"),
            named,
        }
        assert session.edges_into([diamond.ids["join"]]) == [
            diamond.edge("left", "join", "01"),
            diamond.edge("right", "join", "02"),
            named,
        ]
        assert set(session.edges_out_of([diamond.ids["load"]])) == {
            diamond.edge("load", "left"),
            diamond.edge("load", "right"),
            named,
        }


def test_groups_round_trip_and_list_by_name(store: Store, diamond: Seeded) -> None:
    outputs = Group(id=new_id(), pipeline_id=diamond.id, name="outputs", collapsed=False)
    inputs = Group(id=new_id(), pipeline_id=diamond.id, name="inputs", collapsed=True)
    with store.write() as session:
        session.insert_group(outputs)
        session.insert_group(inputs)
        session.update_group(outputs.id, collapsed=True)
    with store.read() as session:
        assert session.groups_of_pipeline(diamond.id) == [inputs, replace(outputs, collapsed=True)]


def test_updates_are_visible_after_commit(store: Store, diamond: Seeded) -> None:
    other_project = make_project("other")
    left = diamond.ids["left"]
    with store.write() as session:
        session.insert_project(other_project)
        session.update_project(other_project.id, notes="moved here")
        session.update_pipeline(diamond.id, project_id=other_project.id, tag="diamond-2")
        session.update_node(left, tag="left-2", locked=True, state=NodeState.FAILED)
        session.update_membership(diamond.id, left, x=-7.25, y=99.5)
    with store.read() as session:
        assert session.get_membership(diamond.id, left) == Membership(diamond.id, left, -7.25, 99.5)
        assert session.list_pipelines(other_project.id) == [
            replace(diamond.pipeline, project_id=other_project.id, tag="diamond-2")
        ]
        assert session.get_project(other_project.id) == replace(other_project, notes="moved here")
        node = session.get_node(left)
    assert node is not None
    assert (node.tag, node.locked, node.state) == ("left-2", True, NodeState.FAILED)


def test_unknown_ids_find_nothing(store: Store, diamond: Seeded) -> None:
    unknown = new_id()
    with store.read() as session:
        assert session.get_project(unknown) is None
        assert session.get_pipeline(unknown) is None
        assert session.get_node(unknown) is None
        assert session.get_membership(diamond.id, unknown) is None
        assert session.get_nodes([unknown]) == {}
        assert session.get_pipelines([unknown]) == {}


# uniqueness -----------------------------------------------------------------------------
def test_project_names_are_unique(store: Store, project: Project) -> None:
    assert_refused(store, lambda s: s.insert_project(make_project(project.name)))


def test_pipeline_tags_are_unique_across_projects(store: Store, diamond: Seeded) -> None:
    other_project = make_project("other")
    with store.write() as session:
        session.insert_project(other_project)
    assert_refused(store, lambda s: s.insert_pipeline(make_pipeline(other_project, "diamond")))


def test_ids_are_unique(store: Store, diamond: Seeded) -> None:
    twin = replace(make_node(diamond.pipeline, "twin"), id=diamond.ids["load"])
    assert_refused(store, lambda s: s.insert_node(twin))


def test_node_tags_may_repeat(store: Store, diamond: Seeded) -> None:
    again = make_node(diamond.pipeline, "load")
    with store.write() as session:
        session.insert_node(again)
    with store.read() as session:
        assert [n.tag for n in session.list_nodes()].count("load") == 2


def test_a_parent_feeds_a_child_through_one_slot_only(store: Store, diamond: Seeded) -> None:
    assert_refused(store, lambda s: s.insert_edge(diamond.edge("left", "join", "03")))


def test_a_slot_of_a_child_holds_one_parent(store: Store, diamond: Seeded) -> None:
    assert_refused(store, lambda s: s.insert_edge(diamond.edge("load", "join", "01")))


def test_a_pipeline_shows_a_node_once(store: Store, diamond: Seeded) -> None:
    again = Membership(diamond.id, diamond.ids["load"], x=1.0, y=1.0)
    assert_refused(store, lambda s: s.insert_membership(again))


def test_group_names_are_unique_per_pipeline(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    with store.write() as session:
        session.insert_group(Group(new_id(), chain.id, "inputs", collapsed=False))
        session.insert_group(Group(new_id(), branch.id, "inputs", collapsed=False))
    assert_refused(
        store, lambda s: s.insert_group(Group(new_id(), chain.id, "inputs", collapsed=True))
    )


# foreign keys ---------------------------------------------------------------------------
DANGLING_REFERENCES: dict[str, Callable[[StoreSession, Seeded], None]] = {
    "edge from unknown parent": lambda s, d: s.insert_edge(Edge(new_id(), d.ids["load"], "01")),
    "edge to unknown child": lambda s, d: s.insert_edge(Edge(d.ids["join"], new_id(), "01")),
    "pipeline in unknown project": lambda s, d: s.insert_pipeline(
        make_pipeline(make_project(), "orphan")
    ),
    "node owned by unknown pipeline": lambda s, d: s.insert_node(
        replace(make_node(d.pipeline, "orphan"), owner_pipeline_id=new_id())
    ),
    "membership of unknown node": lambda s, d: s.insert_membership(
        Membership(d.id, new_id(), 0.0, 0.0)
    ),
    "membership in unknown pipeline": lambda s, d: s.insert_membership(
        Membership(new_id(), d.ids["load"], 0.0, 0.0)
    ),
    "membership in unknown group": lambda s, d: s.update_membership(
        d.id, d.ids["load"], group_id=new_id()
    ),
    "group of unknown pipeline": lambda s, d: s.insert_group(Group(new_id(), new_id(), "g", False)),
    "lineage from unknown pipeline": lambda s, d: s.insert_lineage(
        Lineage(d.id, new_id(), "duplicate")
    ),
}


@pytest.mark.parametrize("write", DANGLING_REFERENCES.values(), ids=DANGLING_REFERENCES.keys())
def test_references_to_unknown_rows_are_refused(
    store: Store, diamond: Seeded, write: Callable[[StoreSession, Seeded], None]
) -> None:
    assert_refused(store, lambda session: write(session, diamond))


def test_deleting_a_node_removes_its_edges_and_memberships(
    store: Store, diamond: Seeded, project: Project
) -> None:
    with store.write() as session:
        viewer = seed_pipeline(session, project, "viewer", {}, shown={"left": diamond.ids["left"]})
        session.delete_node(diamond.ids["left"])
    with store.read() as session:
        assert set(session.all_edges()) == {
            diamond.edge("load", "right"),
            diamond.edge("right", "join", "02"),
        }
        assert session.memberships_of_pipeline(viewer.id) == []
        assert len(session.memberships_of_pipeline(diamond.id)) == 3


def test_deleting_a_group_ungroups_its_members(store: Store, diamond: Seeded) -> None:
    group = Group(new_id(), diamond.id, "sources", collapsed=False)
    with store.write() as session:
        session.insert_group(group)
        session.update_membership(diamond.id, diamond.ids["load"], group_id=group.id)
    with store.write() as session:
        session.delete_group(group.id)
    with store.read() as session:
        membership = session.get_membership(diamond.id, diamond.ids["load"])
    assert membership is not None
    assert membership.group_id is None


def test_deleting_a_pipeline_that_owns_nodes_is_refused(store: Store, diamond: Seeded) -> None:
    assert_refused(store, lambda s: s.delete_pipeline(diamond.id))
    with store.read() as session:
        assert session.get_pipeline(diamond.id) == diamond.pipeline
        assert len(session.pipeline_members(diamond.id)) == 4


def test_deleting_a_pipeline_that_only_shows_nodes_takes_its_own_rows_along(
    store: Store, diamond: Seeded, project: Project
) -> None:
    with store.write() as session:
        viewer = seed_pipeline(session, project, "viewer", {}, shown=diamond.ids)
        session.insert_group(Group(new_id(), viewer.id, "all", collapsed=False))
        session.insert_lineage(Lineage(viewer.id, diamond.id, "duplicate"))
    with store.write() as session:
        session.delete_pipeline(viewer.id)
    with store.read() as session:
        assert session.memberships_of_pipeline(viewer.id) == []
        assert session.groups_of_pipeline(viewer.id) == []
        assert session.lineage() == []
        assert session.pipelines_showing(diamond.ids.values()) == {
            node_id: [diamond.id] for node_id in diamond.ids.values()
        }


def test_deleting_a_project_with_pipelines_is_refused(
    store: Store, diamond: Seeded, project: Project
) -> None:
    assert_refused(store, lambda s: s.delete_project(project.id))


# transactions ---------------------------------------------------------------------------
def test_a_write_that_raises_leaves_no_trace(store: Store, project: Project) -> None:
    with pytest.raises(RuntimeError, match="changed my mind"), store.write() as session:
        seed_pipeline(session, project, "diamond", DIAMOND)
        session.update_project(project.id, notes="edited")
        raise RuntimeError("changed my mind")
    with store.read() as session:
        assert session.list_pipelines() == []
        assert session.list_nodes() == []
        assert session.all_edges() == []
        assert session.get_project(project.id) == project


def test_a_refused_statement_rolls_back_its_whole_transaction(
    store: Store, diamond: Seeded
) -> None:
    def write(session: StoreSession) -> None:
        session.insert_project(make_project("written first"))
        session.set_states({diamond.ids["load"]: "by hand"}, NodeState.COMPLETED)
        session.insert_edge(diamond.edge("left", "join", "03"))  # a duplicate edge

    assert_refused(store, write)
    with store.read() as session:
        assert [p.name for p in session.list_projects()] == ["research"]
        node = session.get_node(diamond.ids["load"])
    assert node is not None
    assert node.state is NodeState.READY


# views and bulk queries -----------------------------------------------------------------
def test_pipeline_members_are_the_shown_nodes_with_their_memberships(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    _, branch = chain_and_branch
    with store.read() as session:
        members = session.pipeline_members(branch.id)
        nodes = session.get_nodes(branch.ids.values())
        memberships = {m.node_id: m for m in session.memberships_of_pipeline(branch.id)}
    assert [node.tag for node, _ in members] == ["clean", "load", "train"]
    assert members == [(nodes[n.id], memberships[n.id]) for n, _ in members]


def test_edges_of_a_pipeline_are_the_edges_into_its_shown_nodes(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    with store.read() as session:
        assert set(session.edges_of_pipeline(branch.id)) == {
            branch.edge("load", "clean"),
            branch.edge("clean", "train"),
        }
        assert set(session.edges_of_pipeline(chain.id)) == {
            chain.edge("load", "clean"),
            chain.edge("clean", "train"),
        }


def test_edges_of_a_pipeline_come_in_slot_order(store: Store, diamond: Seeded) -> None:
    with store.read() as session:
        edges = session.edges_of_pipeline(diamond.id)
    assert len(edges) == 4
    assert [edge.slot for edge in edges] == ["01", "01", "01", "02"]


def test_pipelines_showing_each_node(store: Store, chain_and_branch: tuple[Seeded, Seeded]) -> None:
    chain, branch = chain_and_branch
    hidden = make_node(chain.pipeline, "hidden")
    with store.write() as session:
        session.insert_node(hidden)
    unknown = new_id()
    asked = [chain.ids["load"], branch.ids["clean"], hidden.id, unknown]
    with store.read() as session:
        assert session.pipelines_showing(asked) == {
            chain.ids["load"]: sorted([chain.id, branch.id]),
            branch.ids["clean"]: [branch.id],
            hidden.id: [],
            unknown: [],
        }
        assert session.pipelines_showing([]) == {}


def test_node_tags_with_pipelines_lists_every_membership(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    with store.read() as session:
        found = session.node_tags_with_pipelines()
    assert sorted(found) == sorted(
        [(node_id, tag, "chain") for tag, node_id in chain.ids.items()]
        + [(node_id, tag, "chain-branch") for tag, node_id in branch.ids.items()]
    )


def test_lineage_of_some_pipelines_matches_either_side(store: Store, project: Project) -> None:
    with store.write() as session:
        source, branch, copy, merged, unrelated = (
            seed_pipeline(session, project, tag, {}).id
            for tag in ("source", "branch", "copy", "merged", "unrelated")
        )
        branched = Lineage(branch, source, "branch", from_node_id=new_id())
        copied = Lineage(copy, branch, "duplicate")
        merge = Lineage(merged, source, "merge")
        for record in (branched, copied, merge):
            session.insert_lineage(record)
    with store.read() as session:
        assert set(session.lineage([branch])) == {branched, copied}
        assert set(session.lineage([copy, merged])) == {copied, merge}
        assert session.lineage([unrelated]) == []
        assert session.lineage([]) == []
        assert set(session.lineage()) == {branched, copied, merge}


def test_set_states_gives_each_node_its_own_reason(store: Store, diamond: Seeded) -> None:
    reasons = {diamond.ids["left"]: "parent 01 re-ran", diamond.ids["join"]: "code changed"}
    with store.write() as session:
        session.set_states(reasons, NodeState.STALE)
        session.set_states({}, NodeState.FAILED)
    with store.read() as session:
        nodes = session.get_nodes(diamond.ids.values())
    assert {tag: (nodes[i].state, nodes[i].state_reason) for tag, i in diamond.ids.items()} == {
        "load": (NodeState.READY, ""),
        "left": (NodeState.STALE, "parent 01 re-ran"),
        "right": (NodeState.READY, ""),
        "join": (NodeState.STALE, "code changed"),
    }


def test_get_nodes_and_get_pipelines_return_the_known_ids(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    unknown = new_id()
    with store.read() as session:
        nodes = session.get_nodes([*branch.ids.values(), unknown])
        pipelines = session.get_pipelines([chain.id, branch.id, unknown])
        assert session.get_nodes([]) == {}
        assert session.get_pipelines([]) == {}
    assert set(nodes) == set(branch.ids.values())
    assert all(node.id == node_id for node_id, node in nodes.items())
    assert pipelines == {chain.id: chain.pipeline, branch.id: branch.pipeline}


def test_list_nodes_of_one_pipeline_or_all(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    with store.read() as session:
        assert [n.id for n in session.list_nodes(branch.id)] == [
            branch.ids[tag] for tag in ("clean", "load", "train")
        ]
        assert len(session.list_nodes()) == 5
        assert session.list_nodes(chain.id) == sorted(
            session.get_nodes(chain.ids.values()).values(), key=lambda n: n.tag
        )


def test_delete_edge_tells_whether_it_removed_one(store: Store, diamond: Seeded) -> None:
    with store.write() as session:
        assert session.delete_edge(diamond.ids["load"], diamond.ids["left"]) == 1
        assert session.delete_edge(diamond.ids["load"], diamond.ids["left"]) == 0
    with store.read() as session:
        assert diamond.edge("load", "left") not in session.all_edges()


# walking the graph in the store (graph edits read only the part they touch) --------------
LADDER: Shape = {
    "a": [],
    "b": ["a"],
    "c": ["a"],
    "d": ["b", "c"],
    "e": ["d"],
    "aside": [],
    "f": ["aside"],
}


def test_edges_below_and_above_are_the_reachable_subgraph(store: Store, project: Project) -> None:
    with store.write() as session:
        seeded = seed_pipeline(session, project, "ladder", LADDER)
    with store.read() as session:
        below_b = session.edges_below([seeded.ids["b"]])
        above_d = session.edges_above([seeded.ids["d"]])
        below_two = session.edges_below([seeded.ids["e"], seeded.ids["aside"]])
        nothing = session.edges_below([])
    key = operator.attrgetter("child_id", "slot")
    assert sorted(below_b, key=key) == sorted(
        [seeded.edge("b", "d"), seeded.edge("d", "e")], key=key
    )
    assert sorted(above_d, key=key) == sorted(
        [
            seeded.edge("b", "d"),
            seeded.edge("c", "d", "02"),
            seeded.edge("a", "b"),
            seeded.edge("a", "c"),
        ],
        key=key,
    )
    assert below_two == [seeded.edge("aside", "f")]
    assert nothing == []


def test_node_tags_named_finds_an_exact_id_or_tag_in_every_pipeline(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    with store.read() as session:
        by_tag = session.node_tags_named("load")
        by_id = session.node_tags_named(branch.ids["clean"])
        prefix = session.node_tags_named(chain.ids["load"][:4])
    assert sorted(by_tag) == [
        (chain.ids["load"], "load", "chain"),
        (chain.ids["load"], "load", "chain-branch"),
    ]
    assert by_id == [(branch.ids["clean"], "clean", "chain-branch")]
    assert prefix == [], "a prefix is resolved from every name, not by this lookup"


def test_many_names_and_many_edges_at_once(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    names = ["load", branch.ids["clean"], chain.ids["train"][:4], "nosuch"] + [
        f"x{i}"
        for i in range(900)  # more names than one query's chunk
    ]
    with store.read() as session:
        found = session.node_tags_named_any(names)
    assert sorted(found) == sorted(
        [
            (chain.ids["load"], "load", "chain"),
            (chain.ids["load"], "load", "chain-branch"),
            (branch.ids["clean"], "clean", "chain-branch"),
        ]
    )
    new = [
        Edge(chain.ids["load"], chain.ids["train"], "02"),
        Edge(branch.ids["clean"], chain.ids["train"], "03"),
    ]
    with store.write() as session:
        session.insert_edges(new)
        session.insert_edges([])
    with store.read() as session:
        into = session.edges_into([chain.ids["train"]])
    assert into == [Edge(chain.ids["clean"], chain.ids["train"], "01"), *new]


def test_placement_and_tag_lookups_read_what_they_name(
    store: Store, chain_and_branch: tuple[Seeded, Seeded]
) -> None:
    chain, branch = chain_and_branch
    with store.write() as session:
        spots = {"load": (0.0, 0.0), "clean": (240.0, 60.0), "train": (480.0, 300.0)}
        for tag, (x, y) in spots.items():
            session.update_membership(chain.pipeline.id, chain.ids[tag], x=x, y=y)
    with store.read() as session:
        found = session.memberships_of(chain.pipeline.id, [chain.ids["load"], branch.ids["clean"]])
        bottom = session.lowest_y(chain.pipeline.id)
        column = session.lowest_y(chain.pipeline.id, (120.0, 360.0))
        empty = session.lowest_y(chain.pipeline.id, (600.0, 840.0))
        tagged = session.shown_tagged(branch.pipeline.id, ["load", "clean", "nosuch"])
    assert list(found) == [chain.ids["load"]]  # the branch's own clean is not in chain
    assert (bottom, column, empty) == (300.0, 60.0, None)
    assert tagged == [(branch.ids["clean"], "clean"), (chain.ids["load"], "load")]
