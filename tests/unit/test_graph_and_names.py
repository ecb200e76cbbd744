"""Pure domain rules: graph algorithms, cycle naming, names, slots, resolution, parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodepipe.domain.errors import AmbiguousNameError, InvalidInputError, NotFoundError
from nodepipe.domain.graph import (
    ancestors,
    cycle_if_connected,
    descendants,
    heads,
    topological_order,
)
from nodepipe.domain.ids import looks_like_id, new_id
from nodepipe.domain.model import Edge
from nodepipe.domain.names import next_free_slot, validate_name, validate_slot
from nodepipe.domain.params import parse_assignment, parse_params
from nodepipe.domain.resolve import Candidate, resolve
from support import worlds
from support.worlds import edges_of

DIAMOND = edges_of(worlds.DIAMOND)
CHAIN = edges_of(worlds.CHAIN)


def test_cycle_is_named_from_the_new_edge() -> None:
    assert cycle_if_connected("plot", "load", CHAIN) == ["plot", "load", "clean", "plot"]
    assert cycle_if_connected("load", "plot", CHAIN) is None
    assert cycle_if_connected("d", "a", DIAMOND) in (["d", "a", "b", "d"], ["d", "a", "c", "d"])


def test_neighbourhoods_of_a_diamond() -> None:
    assert descendants(["a"], DIAMOND) == {"b", "c", "d"}
    assert ancestors(["d"], DIAMOND) == {"a", "b", "c"}
    assert heads("abcd", DIAMOND) == {"a"}
    assert heads({"b", "c", "d"}, DIAMOND) == {"b", "c"}


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30))
def test_topological_order_puts_parents_first(pairs: list[tuple[int, int]]) -> None:
    edges = [Edge(str(a), str(b), "01") for a, b in pairs if a < b]  # acyclic by construction
    nodes = {str(n) for n in range(10)}
    order = topological_order(nodes, edges)
    assert sorted(order) == sorted(nodes)
    position = {node: i for i, node in enumerate(order)}
    assert all(position[e.parent_id] < position[e.child_id] for e in edges)


@pytest.mark.parametrize("bad", ["", "a/b", "a\\b", ".", "..", "a..b", "-x", "x\n", "\x07", " a"])
def test_bad_names(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_name(bad, "node tag")


@pytest.mark.parametrize("good", ["load", "clean data", "v1.2", "Étape_2", "a-b"])
def test_good_names(good: str) -> None:
    assert validate_name(good, "node tag") == good


def test_slots() -> None:
    assert next_free_slot(set()) == "01" and next_free_slot({"01", "03"}) == "02"
    assert validate_slot("train") == "train"
    with pytest.raises(InvalidInputError):
        validate_slot("a/b")


def test_ids_never_look_like_words() -> None:
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200 and all(looks_like_id(i) for i in ids)
    assert not looks_like_id("baseline")


def test_resolution_precedence_and_messages() -> None:
    nodes = [
        Candidate("ab23cdef", "clean", "in a"),
        Candidate("xy45zzzz", "clean", "in b"),
        Candidate("qq67rrrr", "plot"),
    ]
    assert resolve("qq67rrrr", nodes, "node") == "qq67rrrr"
    assert resolve("plot", nodes, "node") == "qq67rrrr"
    assert resolve("xy45", nodes, "node") == "xy45zzzz"
    with pytest.raises(AmbiguousNameError, match="ab23cdef") as ambiguous:
        resolve("clean", nodes, "node")
    assert "xy45zzzz" in str(ambiguous.value)
    with pytest.raises(NotFoundError, match="did you mean 'plot'"):
        resolve("plto", nodes, "node")


def test_parameters() -> None:
    assert parse_params("lr: 0.1\nlayers: [1, 2]\n") == {"lr": 0.1, "layers": [1, 2]}
    assert parse_params("") == {}
    assert parse_assignment("name=hello world") == ("name", "hello world")
    assert parse_assignment("xs=[1, 2]") == ("xs", [1, 2])
    for text in ("a: [1", "- 1\n- 2", "1: x"):
        with pytest.raises(InvalidInputError):
            parse_params(text)
