"""The run planner as a pure function: graphs from dicts, fixtures named after their shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodepipe.domain.errors import NotFoundError
from nodepipe.domain.model import Edge, Membership, Node, PipelineNode
from nodepipe.domain.states import NodeState
from nodepipe.execution.plan import (
    NodeStatus,
    Plan,
    PlannedNode,
    Selection,
    SkippedNode,
    plan_run,
)
from nodepipe.execution.ready_queue import ReadyQueue
from support.worlds import CHAIN, DIAMOND, FAN_OUT_FAN_IN, edges_of

S = NodeState


@dataclass
class World:
    """A pipeline graph from ``{child: [parents...]}`` (slots 01, 02... in listed order)."""

    spec: dict[str, list[str]]
    states: dict[str, NodeState] = field(default_factory=dict)
    stale: dict[str, tuple[str, ...]] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)
    locked: set[str] = field(default_factory=set)
    problems: dict[str, str] = field(default_factory=dict)
    default: NodeState = S.COMPLETED

    @property
    def edges(self) -> list[Edge]:
        return edges_of(self.spec)

    def statuses(self) -> list[NodeStatus]:
        return [
            NodeStatus(
                node_id,
                node_id,
                self.states.get(node_id, self.default),
                self.stale.get(node_id, ()),
                node_id in self.references,
                node_id in self.locked,
                self.problems.get(node_id),
            )
            for node_id in self.spec
        ]

    def plan(self, force: bool = False, **selection: frozenset[str] | set[str]) -> Plan:
        chosen = Selection(**{key: frozenset(value) for key, value in selection.items()})
        return plan_run(self.statuses(), self.edges, chosen, force)


@pytest.fixture
def chain() -> World:
    return World(dict(CHAIN))


@pytest.fixture
def diamond() -> World:
    return World(dict(DIAMOND))


@pytest.fixture
def fan_out_fan_in() -> World:
    return World(dict(FAN_OUT_FAN_IN))


def reasons(plan: Plan) -> dict[str, tuple[str, ...]]:
    return {item.node_id: item.reasons for item in plan.nodes}


def skipped(plan: Plan) -> dict[str, str]:
    return {item.node_id: item.reason for item in plan.skipped}


def blocked(plan: Plan) -> dict[str, tuple[str, ...]]:
    return {item.node_id: item.reasons for item in plan.blocked}


def test_a_new_chain_runs_in_order_with_reasons(chain: World) -> None:
    chain.default = S.READY
    assert reasons(chain.plan()) == {
        "load": ("never ran",),
        "clean": ("never ran", "parent 01 (load) will run"),
        "plot": ("never ran", "parent 01 (clean) will run"),
    }
    assert chain.plan().ids == ("load", "clean", "plot")


def test_nothing_changed_plans_nothing(chain: World) -> None:
    plan = chain.plan()
    assert not plan and plan.ids == () and plan.waves() == []
    assert skipped(plan) == dict.fromkeys(("load", "clean", "plot"), "up to date")


def test_a_stale_node_and_what_follows_it_re_run(chain: World) -> None:
    chain.states["clean"] = S.STALE
    chain.stale["clean"] = ("code changed: main.py",)
    plan = chain.plan()
    assert reasons(plan) == {
        "clean": ("code changed: main.py",),
        "plot": ("parent 01 (clean) will re-run",),
    }
    assert skipped(plan) == {"load": "up to date"}


def test_a_completed_node_with_fresh_stale_reasons_runs(chain: World) -> None:
    chain.stale["load"] = ("parameter n changed",)
    assert chain.plan().ids == ("load", "clean", "plot")


def test_failed_and_cancelled_nodes_run(diamond: World) -> None:
    diamond.states.update(b=S.FAILED, c=S.CANCELLED)
    assert reasons(diamond.plan()) == {
        "b": ("failed last time",),
        "c": ("cancelled last time",),
        "d": ("parent 01 (b) will re-run", "parent 02 (c) will re-run"),
    }


def test_force_runs_the_whole_selection(diamond: World) -> None:
    assert reasons(diamond.plan(force=True)) == {
        "a": ("forced",),
        "b": ("parent 01 (a) will re-run",),
        "c": ("parent 01 (a) will re-run",),
        "d": ("parent 01 (b) will re-run", "parent 02 (c) will re-run"),
    }
    assert diamond.plan(force=True, only={"c"}).ids == ("c",)


def test_to_selects_a_node_and_its_ancestors(chain: World) -> None:
    chain.default = S.READY
    plan = chain.plan(to={"clean"})
    assert plan.ids == ("load", "clean") and skipped(plan) == {}


def test_from_selects_a_node_and_its_descendants(chain: World) -> None:
    assert chain.plan(force=True, from_={"clean"}).ids == ("clean", "plot")


def test_from_and_to_together_select_what_lies_between(diamond: World) -> None:
    assert diamond.plan(force=True, from_={"b"}, to={"d"}).ids == ("b", "d")


def test_only_selects_exactly_those_nodes(fan_out_fan_in: World) -> None:
    plan = fan_out_fan_in.plan(force=True, only={"w2", "merge"})
    assert plan.ids == ("w2", "merge")
    assert reasons(plan)["merge"] == ("parent 02 (w2) will re-run",)


def test_unknown_nodes_in_a_selection_are_refused(chain: World) -> None:
    with pytest.raises(NotFoundError, match="trian"):
        chain.plan(only={"trian"})


def test_a_parent_without_outputs_blocks_and_says_how_to_fix_it(chain: World) -> None:
    chain.default = S.READY
    plan = chain.plan(only={"clean", "plot"})
    assert plan.ids == ()
    assert blocked(plan) == {
        "clean": ("parent 01 (load) has no outputs; include it or run it first",),
        "plot": ("parent 01 (clean) is blocked",),
    }


def test_a_failed_parent_outside_the_selection_blocks(chain: World) -> None:
    chain.states.update(clean=S.FAILED, plot=S.READY)
    assert blocked(chain.plan(only={"plot"})) == {
        "plot": ("parent 01 (clean) failed last time; include it or run it first",)
    }


def test_a_stale_parent_outside_the_selection_still_has_outputs(chain: World) -> None:
    chain.states.update(clean=S.STALE, plot=S.READY)
    assert chain.plan(only={"plot"}).ids == ("plot",)


def test_a_node_that_cannot_be_checked_is_planned_with_its_problem(chain: World) -> None:
    problem = "cannot read load/code/pyproject.toml: Expected '='"
    chain.problems["load"] = problem
    chain.stale["load"] = (problem,)
    plan = chain.plan()
    assert plan.ids == ("load", "clean", "plot")
    assert plan.nodes[0].reasons == (problem,)
    assert plan.downstream("load") == ["clean", "plot"]


def test_a_parent_that_cannot_be_checked_blocks_even_with_outputs(chain: World) -> None:
    chain.problems["clean"] = "its folder nodes/clean is missing"
    chain.stale["clean"] = (chain.problems["clean"],)
    chain.states["plot"] = S.READY
    assert blocked(chain.plan(only={"plot"})) == {
        "plot": ("parent 01 (clean) cannot run: its folder nodes/clean is missing",)
    }
    assert chain.plan(only={"load"}).ids == ()  # the others plan as usual


def test_a_parent_busy_in_another_run_blocks_what_needs_it(chain: World) -> None:
    chain.states.update(clean=S.RUNNING, plot=S.READY)
    plan = chain.plan()
    assert skipped(plan)["clean"] == "running in another run"
    assert blocked(plan)["plot"] == (
        "parent 01 (clean) is running in another run; run this again when it is done",
    )


def test_references_do_not_run_from_this_pipeline(diamond: World) -> None:
    diamond.references.add("a")
    diamond.default = S.READY
    plan = diamond.plan(force=True)
    assert skipped(plan) == {"a": "reference: not run from this pipeline (it is ready)"}
    message = "has no outputs and is read-only here; run it from its own pipeline first"
    assert blocked(plan)["b"] == (f"parent 01 (a) {message}",)
    assert set(blocked(plan)) == {"b", "c", "d"}


def test_a_completed_reference_feeds_its_children(diamond: World) -> None:
    diamond.references.add("a")
    diamond.states.update(b=S.READY, c=S.READY, d=S.READY)
    plan = diamond.plan()
    assert skipped(plan) == {"a": "reference: not run from this pipeline"}
    assert plan.ids == ("b", "c", "d")


def test_locked_nodes_never_run_even_forced(chain: World) -> None:
    chain.locked.add("clean")
    plan = chain.plan(force=True)
    assert skipped(plan) == {"clean": "locked: unlock it to run it"}
    assert plan.ids == ("load", "plot")


def test_waves_of_a_diamond_and_a_fan(diamond: World, fan_out_fan_in: World) -> None:
    assert diamond.plan(force=True).waves() == [["a"], ["b", "c"], ["d"]]
    assert fan_out_fan_in.plan(force=True).waves() == [
        ["src"],
        ["w1", "w2", "w3", "w4"],
        ["merge"],
    ]


def test_ready_after_tells_the_scheduler_what_may_start(diamond: World) -> None:
    plan = diamond.plan(force=True)
    assert plan.ready_after(set()) == ["a"]
    assert plan.ready_after({"a"}, started={"b"}) == ["c"]
    assert plan.ready_after({"a", "b"}) == ["c"]
    assert plan.ready_after({"a", "b", "c"}) == ["d"]
    assert plan.ready_after({"a", "b", "c", "d"}) == []


def test_the_ready_queue_gives_nodes_out_as_their_parents_complete(diamond: World) -> None:
    ready = ReadyQueue(diamond.plan(force=True))
    assert ready.pop() == "a" and not ready
    ready.completed("a")
    assert [ready.pop(), ready.pop()] == ["b", "c"] and not ready  # in plan order
    ready.completed("c")
    assert not ready, "d still waits for b"
    ready.completed("b")
    assert ready.pop() == "d" and not ready


def test_ready_after_ignores_parents_outside_the_plan(diamond: World) -> None:
    plan = diamond.plan(force=True, only={"b", "d"})
    assert plan.ready_after(set()) == ["b"] and plan.parents["d"] == frozenset({"b"})


def test_downstream_of_a_failed_node(diamond: World, fan_out_fan_in: World) -> None:
    plan = diamond.plan(force=True)
    assert plan.downstream("a") == ["b", "c", "d"]
    assert plan.downstream("b") == ["d"] and plan.downstream("d") == []
    assert fan_out_fan_in.plan(force=True).downstream("w3") == ["merge"]


def test_edges_of_other_pipelines_are_ignored_but_missing_parents_are_not(chain: World) -> None:
    foreign = [*chain.edges, Edge("plot", "elsewhere", "01")]
    assert plan_run(chain.statuses(), foreign).ids == ()
    with pytest.raises(ValueError, match="ghost"):
        plan_run(chain.statuses(), [*chain.edges, Edge("ghost", "load", "01")])


def test_status_from_a_pipeline_node() -> None:
    node = Node("n1", "train", "", S.STALE, "", True, "p", datetime.now(UTC))
    item = PipelineNode(node, Membership("p2", "n1", 0, 0), is_reference=True)
    status = NodeStatus.of(item, ["parameter lr changed"])
    assert status == NodeStatus("n1", "train", S.STALE, ("parameter lr changed",), True, True)


# --- properties over random graphs -------------------------------------------------------
# Examples are cheap: each world is drawn from strategies built once, one tuple per node. Up to
# six nodes hold every shape (chain, fan-out, fan-in, diamond, and mixes of them); names come
# in random order, so the order of ids never gives a topological order away. The number of
# examples is twice the profile's (tests/conftest.py): the rarest bug these properties exist for
# (a planned second parent that does not re-run its child) shows in about 3 worlds in 100.

THOROUGH = settings(max_examples=2 * settings().max_examples)
MAX_NODES = 6
NAMES = tuple(f"n{i}" for i in range(MAX_NODES))
REASON = ("code changed: main.py",)
SOMETIMES = st.integers(0, 3).map(lambda draw: draw == 3)
"""True one time in four (and False when shrunk): a few read-only or stale nodes, not half."""
NODE = st.tuples(
    st.integers(0, 2**MAX_NODES - 1),  # its parents among the nodes drawn before it, as bits
    st.just(S.COMPLETED) | st.sampled_from(list(S)),
    SOMETIMES,  # stale with a reason
    SOMETIMES,  # a reference
    SOMETIMES,  # locked
)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """Random DAGs (a node's parents are drawn before it), states, reasons, read-only nodes."""
    size = draw(st.integers(1, MAX_NODES))
    names = draw(st.permutations(NAMES))[:size]
    world = World({})
    for index, (parents, state, stale, reference, locked) in enumerate(
        draw(st.lists(NODE, min_size=size, max_size=size))
    ):
        name = names[index]
        world.spec[name] = [names[bit] for bit in range(index) if parents >> bit & 1]
        world.states[name] = state
        world.stale.update({name: REASON} if stale else {})
        world.references.update({name} if reference else set())
        world.locked.update({name} if locked else set())
    return world


SUBSET = st.none() | st.integers(1, 2**MAX_NODES - 1)
SELECTION = st.tuples(SUBSET, SUBSET, SUBSET)
"""``only``, ``from_`` and ``to``: each unset, or a non-empty set of nodes as bits."""


def selections(world: World) -> st.SearchStrategy[dict[str, frozenset[str]]]:
    names = list(world.spec)

    def chosen(bits: int) -> frozenset[str]:
        members = frozenset(name for index, name in enumerate(names) if bits >> index & 1)
        return members or frozenset(names[:1])

    return SELECTION.map(
        lambda subsets: {
            key: chosen(bits)
            for key, bits in zip(("only", "from_", "to"), subsets, strict=True)
            if bits is not None
        }
    )


@THOROUGH
@given(st.data())
def test_every_plan_is_sound(data: st.DataObject) -> None:
    world = data.draw(worlds())
    chosen = data.draw(selections(world))
    plan = world.plan(data.draw(st.booleans()), **chosen)
    selected = Selection(**chosen).resolve(set(world.spec), world.edges)
    accounted = [*plan.ids, *skipped(plan), *blocked(plan)]
    assert sorted(accounted) == sorted(selected), (
        "each selected node is planned, skipped or blocked"
    )
    position = {node_id: index for index, node_id in enumerate(plan.ids)}
    statuses = {status.node_id: status for status in world.statuses()}
    for edge in world.edges:
        if edge.child_id in position:
            if edge.parent_id in position:
                assert position[edge.parent_id] < position[edge.child_id], "topological order"
            else:
                assert statuses[edge.parent_id].state in {S.COMPLETED, S.STALE}, "inputs exist"
    wave_of = {node: index for index, wave in enumerate(plan.waves()) for node in wave}
    assert sorted(wave_of) == sorted(plan.ids), "every planned node is in exactly one wave"
    for edge in world.edges:
        if edge.parent_id in wave_of and edge.child_id in wave_of:
            assert wave_of[edge.parent_id] < wave_of[edge.child_id], "waves respect edges"


@THOROUGH
@given(st.data())
def test_the_ready_queue_agrees_with_ready_after_whatever_the_completion_order(
    data: st.DataObject,
) -> None:
    world = data.draw(worlds())
    plan = world.plan(True, **data.draw(selections(world)))
    ready, done, started = ReadyQueue(plan), set[str](), set[str]()
    running: list[str] = []
    while True:
        expected = plan.ready_after(done, started)
        given_out = []
        while ready:
            given_out.append(ready.pop())
        assert given_out == expected, "the same nodes, in plan order"
        started.update(given_out)
        running.extend(given_out)
        if not running:
            break
        finished = running.pop(data.draw(st.integers(0, len(running) - 1)))
        done.add(finished)
        ready.completed(finished)
    assert sorted(started) == sorted(plan.ids), "every planned node once"


@THOROUGH
@given(worlds())
def test_whatever_follows_a_planned_node_runs_too_or_is_blocked(world: World) -> None:
    plan = world.plan()
    planned, held = set(plan.ids), set(blocked(plan))
    statuses = {status.node_id: status for status in world.statuses()}
    for edge in world.edges:
        child = statuses[edge.child_id]
        runnable = not (child.reference or child.locked) and child.state not in {
            S.QUEUED,
            S.RUNNING,
        }
        if edge.parent_id in planned and runnable:
            assert edge.child_id in planned | held


@THOROUGH
@given(worlds())
def test_forced_plan_is_the_whole_selection(world: World) -> None:
    world.references.clear()
    world.locked.clear()
    world.states = {k: v for k, v in world.states.items() if v not in {S.QUEUED, S.RUNNING}}
    plan = world.plan(force=True)
    assert set(plan.ids) == set(world.spec)
    assert all(isinstance(item, PlannedNode) for item in plan.nodes)


@THOROUGH
@given(worlds())
def test_a_no_change_plan_is_empty(world: World) -> None:
    world.states.clear()
    world.stale.clear()
    plan = world.plan()
    assert plan.nodes == () and plan.blocked == ()
    assert all(isinstance(item, SkippedNode) for item in plan.skipped)
