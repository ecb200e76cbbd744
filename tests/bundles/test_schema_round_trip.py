"""Round trip of pipeline.toml over generated graphs: parse(dump(d)) == d, and dump is stable."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nodepipe.bundles.model import (
    BundleDefinition,
    EdgeEntry,
    IncludeEntry,
    NodeEntry,
    frozen_mapping,
)
from nodepipe.bundles.schema import dump_definition, parse_definition
from nodepipe.domain.names import SLOT_PATTERN

TAGS = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_ éß-]{0,10}[A-Za-z0-9_]\Z") | st.sampled_from(
    ["prep", "train", "eval", "données", "x"]
)
SLOTS = st.from_regex(SLOT_PATTERN.replace("^", r"\A").replace("$", r"\Z"))
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
SCALARS = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
PARAMS = st.dictionaries(TEXT.filter(bool), VALUES, max_size=4)
POSITIONS = st.none() | st.tuples(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def definitions(draw: st.DrawFn) -> BundleDefinition:
    keys = sorted(draw(st.sets(TAGS.filter(lambda k: k.strip() == k), max_size=7)))
    nodes = tuple(_node(draw, key) for key in keys)
    namespaces = sorted(draw(st.sets(st.from_regex(r"\A[a-z][a-z0-9_-]{0,6}\Z"), max_size=3)))
    includes = tuple(_include(draw, ns, keys) for ns in namespaces)
    edges: dict[tuple[str, str], str] = {}
    taken: set[tuple[str, str]] = set()
    for low, high in draw(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), max_size=12)):
        if keys and low % len(keys) < high % len(keys):  # forward edges only: a DAG
            parent, child = keys[low % len(keys)], keys[high % len(keys)]
            slot = draw(SLOTS)
            if (child, slot) not in taken and (parent, child) not in edges:
                edges[parent, child] = slot
                taken.add((child, slot))
    for namespace in namespaces:
        if keys and draw(st.booleans()):
            child, slot = draw(st.sampled_from(keys)), draw(SLOTS)
            if (child, slot) not in taken:
                edges[f"{namespace}.{draw(TAGS)}", child] = slot
                taken.add((child, slot))
    drawn = (
        draw(st.dictionaries(SLOTS, st.sets(st.sampled_from(keys), min_size=1), max_size=2))
        if keys
        else {}
    )
    free = {name: {k for k in takers if (k, name) not in taken} for name, takers in drawn.items()}
    inputs = {name: takers for name, takers in free.items() if takers}  # a fed slot is no input
    return BundleDefinition(
        name=draw(TAGS),
        notes=draw(TEXT),
        py_dir=draw(st.none() | st.sampled_from(["lib", "src/helpers"])),
        params=frozen_mapping(draw(PARAMS)),
        inputs=frozen_mapping({name: tuple(sorted(takers)) for name, takers in inputs.items()}),
        nodes=nodes,
        edges=tuple(EdgeEntry(p, c, s) for (p, c), s in sorted(edges.items())),
        includes=includes,
    )


def _node(draw: st.DrawFn, key: str) -> NodeEntry:
    path = draw(st.sampled_from([f"nodes/{key}", f"steps/{key}", f"nodes/{key}/inner"]))
    group = draw(st.none() | TAGS)
    return NodeEntry(key, path, draw(TEXT), group, draw(POSITIONS))


def _include(draw: st.DrawFn, namespace: str, keys: list[str]) -> IncludeEntry:
    source = draw(
        st.sampled_from(["../shared/features", "lib/sub", "pkg:np-features>=1.2", "memory://b/x"])
    )
    inputs: dict[str, Any] = (
        draw(st.dictionaries(SLOTS, st.sampled_from(keys), max_size=2)) if keys else {}
    )
    return IncludeEntry(namespace, source, frozen_mapping(inputs), frozen_mapping(draw(PARAMS)))


@given(definitions())
def test_dump_then_parse_gives_the_same_definition_and_the_same_bytes(
    definition: BundleDefinition,
) -> None:
    text = dump_definition(definition)
    again = parse_definition(text, "pipeline.toml")
    assert again == definition
    assert dump_definition(again) == text
    assert "\r" not in text


@given(definitions(), st.randoms())
def test_the_order_things_are_written_in_does_not_change_the_file(
    definition: BundleDefinition, random: Any
) -> None:
    nodes, edges, includes = (
        list(v) for v in (definition.nodes, definition.edges, definition.includes)
    )
    for values in (nodes, edges, includes):
        random.shuffle(values)
    shuffled = BundleDefinition(
        definition.name,
        definition.notes,
        definition.py_dir,
        definition.params,
        definition.inputs,
        tuple(nodes),
        tuple(edges),
        tuple(includes),
    )
    assert dump_definition(shuffled) == dump_definition(definition)
