"""The workspace round trip of a bundle, over generated pipeline shapes: a pipeline of 2 to 6
nodes (generated edges, named or numbered slots, parameters, notes, groups) made in a real
workspace, exported, imported into a fresh workspace and exported again gives the same
``pipeline.toml`` byte for byte and the same node files.

The nodes keep the template's environment (no packages), so each one syncs cheaply; the
workspaces of an example are made inside it, under a temporary folder of its own.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import nodepipe
from integration.test_bundles import same_tree
from support.worlds import NodeSpec, Spec, build_pipeline, inputs_of

TAGS = ("load", "clean", "feat", "fit", "score", "plot")
SLOT_NAMES = ("data", "other", "x2", "ref")
NOTES = st.text(alphabet="ab é\n\"'\\[]=#\t", max_size=12)
PARAM_VALUES = st.one_of(
    st.integers(-1000, 1000),
    st.text(alphabet="abcxyz", min_size=1, max_size=6),
    st.sampled_from(["true", "false", "1.5", "[1, 2]"]),
)


@dataclass(frozen=True)
class Shape:
    """A generated pipeline: its nodes (with parents, slots, parameters), notes and groups."""

    spec: Spec
    notes: str
    node_notes: dict[str, str]
    groups: dict[str, list[str]]


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    tags = TAGS[: draw(st.integers(2, len(TAGS)))]
    spec: dict[str, NodeSpec] = {}
    for index, tag in enumerate(tags):
        parents = draw(st.lists(st.sampled_from(tags[:index]), unique=True)) if index else []
        named = draw(st.booleans())
        slots = draw(
            st.lists(
                st.sampled_from(SLOT_NAMES),
                min_size=len(parents),
                max_size=len(parents),
                unique=True,
            )
            if named
            else st.just([])
        )
        params = draw(st.dictionaries(st.sampled_from(["n", "mode", "rate"]), PARAM_VALUES))
        spec[tag] = NodeSpec(
            parents=parents,
            slots=slots,
            params=[f"{name}={value}" for name, value in params.items()],
        )
    node_notes = draw(st.dictionaries(st.sampled_from(tags), NOTES.filter(bool)))
    placed = draw(
        st.lists(st.sampled_from([None, "g1", "g2"]), min_size=len(tags), max_size=len(tags))
    )
    groups: dict[str, list[str]] = {}
    for tag, group in zip(tags, placed, strict=True):
        if group is not None:
            groups.setdefault(group, []).append(tag)
    return Shape(spec, draw(NOTES), node_notes, groups)


def make(ws: nodepipe.Workspace, shape: Shape) -> None:
    """``shape`` as the pipeline ``shaped`` of ``ws``."""
    build_pipeline(ws, "shaped", shape.spec)
    ws.pipelines.notes("shaped", shape.notes)
    for tag, notes in shape.node_notes.items():
        ws.nodes.notes(tag, notes, pipeline="shaped")
    for name, members in shape.groups.items():
        ws.groups.new("shaped", name, members)


@settings(max_examples=8, deadline=None)
@given(shape=shapes())
def test_export_import_export_is_byte_identical_for_any_shape(shape: Shape) -> None:
    with tempfile.TemporaryDirectory(prefix="shapes-") as folder:
        root = Path(folder)
        with nodepipe.init(root / "one") as one:
            make(one, shape)
            exported = one.bundles.export("shaped", root / "first")
        assert set(exported.nodes) == set(shape.spec)
        with nodepipe.init(root / "two") as two:
            view = two.bundles.import_(root / "first").view
            tag = {item.node.id: item.node.tag for item in view.nodes}
            edges = {(tag[e.parent_id], tag[e.child_id], e.slot) for e in view.edges}
            assert edges == {
                (parent, child, slot)
                for child, entry in shape.spec.items()
                for parent, slot in inputs_of(entry)
            }
            two.bundles.export("shaped", root / "second")
        first, second = root / "first", root / "second"
        assert (second / "pipeline.toml").read_bytes() == (first / "pipeline.toml").read_bytes()
        assert same_tree(first / "nodes", second / "nodes")
