"""pipeline.toml: what is read, and every mistake named with its file and line."""

from __future__ import annotations

import time

import pytest

from nodepipe.bundles.errors import BundleError, BundleProblemsError
from nodepipe.bundles.model import EdgeEntry, IncludeEntry, NodeEntry
from nodepipe.bundles.schema import dump_definition, parse_definition
from nodepipe.domain.names import NAME_RULE

TRAIN_EVAL = """\
format = 1
[pipeline]
name = "train-eval"
notes = "trains and evaluates"
py-dir = "./lib"
[params]
window = 3
[inputs]
raw = ["prep"]
[nodes.prep]
path = "nodes/prep"
[nodes.train]
position = [10, 20.5]
group = "model"
[[edges]]
from = "prep"
to = "train"
slot = "01"
[[edges]]
from = "features.clean"
to = "train"
[includes.features]
source = "../shared/features"
inputs = { raw = "prep" }
params = { window = 7 }
"""


def refused(text: str) -> str:
    with pytest.raises(BundleError) as caught:
        parse_definition(text, "pipeline.toml")
    return str(caught.value)


def test_a_definition_reads_every_section() -> None:
    definition = parse_definition(TRAIN_EVAL, "pipeline.toml")
    assert definition.name == "train-eval"
    assert definition.py_dir == "lib"
    assert dict(definition.params) == {"window": 3}
    assert dict(definition.inputs) == {"raw": ("prep",)}
    assert definition.nodes == (
        NodeEntry("prep", "nodes/prep"),
        NodeEntry("train", "nodes/train", group="model", position=(10.0, 20.5)),
    )
    assert definition.edges == (
        EdgeEntry("features.clean", "train", "02"),
        EdgeEntry("prep", "train", "01"),
    )
    (include,) = definition.includes
    assert include == IncludeEntry("features", "../shared/features", {"raw": "prep"}, {"window": 7})


def test_the_written_file_is_sorted_and_leaves_defaults_out() -> None:
    text = dump_definition(parse_definition(TRAIN_EVAL, "pipeline.toml"))
    assert text.startswith('format = 1\n\n[pipeline]\nname = "train-eval"\n')
    assert 'path = "nodes/prep"' not in text
    assert text.index("[nodes.prep]") < text.index("[nodes.train]")
    assert text.index('from = "features.clean"') < text.index('from = "prep"')
    assert "\r" not in text and text.endswith("\n")
    assert "params = {window = 7}" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("[nodes.train]\n", "[nodes.train]\nnodez = 1\n"),
            "pipeline.toml:13: unknown key 'nodez' in [nodes.train]",
        ),
        (
            ("format = 1\n", "format = 1\nnodez = 1\n"),
            "pipeline.toml:2: unknown key 'nodez' at the top level",
        ),
        (('from = "prep"', 'frm = "prep"'), "pipeline.toml:16: unknown key 'frm' in [[edges]] #1"),
        (
            ("format = 1", "format = 2"),
            "pipeline.toml:1: bundle format 2 is newer than this nodepipe reads (format 1)",
        ),
        (("window = 3", "window = "), "pipeline.toml:7:10: malformed TOML: Invalid value"),
        (
            ('"nodes/prep"', '"/srv/prep"'),
            "pipeline.toml:11: path '/srv/prep' is not usable: it is absolute",
        ),
        (
            ('"nodes/prep"', '"nodes/../../prep"'),
            "pipeline.toml:11: path 'nodes/../../prep' is not usable: it leads outside the bundle",
        ),
        (('"nodes/prep"', '"C:/prep"'), "it starts with a drive letter"),
        (('"nodes/prep"', r'"nodes\\prep"'), "it contains a backslash"),
        (('"./lib"', '"../lib"'), "pipeline.toml:5: py-dir '../lib' is not usable"),
        (
            ('"../shared/features"', '"/home/me/features"'),
            "pipeline.toml:23: source '/home/me/features' is not usable: it is absolute",
        ),
        (('"../shared/features"', '"pkg:np features"'), "is not a package requirement"),
        (
            ('"../shared/features"', '"file:///home/me/features"'),
            "pipeline.toml:23: source 'file:///home/me/features' is not usable: a local file URL",
        ),
        (
            ("[includes.features]", '[includes."fe.at"]'),
            "invalid include namespace 'fe.at': it may not contain '.'",
        ),
        (("[nodes.train]", '[nodes."-train"]'), "invalid node tag '-train'"),
        (('slot = "01"', 'slot = "0 1"'), "pipeline.toml:18: invalid slot '0 1'"),
        (
            ('from = "prep"', 'from = "prap"'),
            "pipeline.toml:16: edge from 'prap': no node 'prap' here (nodes: prep, train;",
        ),
        (('from = "features.clean"', 'from = "other.clean"'), "no node 'other.clean' here"),
        (
            ('raw = ["prep"]', 'raw = ["nope"]'),
            "pipeline.toml:9: input 'raw' names 'nope', which is no node of this pipeline",
        ),
        (('{ raw = "prep" }', '{ raw = "features.x" }'), "it is a node of 'features' itself"),
        (('name = "train-eval"', 'name = "a/b"'), "pipeline.toml:3: invalid pipeline name 'a/b'"),
        (('name = "train-eval"\n', ""), "[pipeline] has no 'name'"),
        (("format = 1\n", ""), "pipeline.toml: 'format = 1' is missing"),
        (("window = 3", "window = 1979-05-27"), "is a date or time"),
        (("window = 3", "window = nan"), "use a finite number"),
        (
            ('to = "train"\n[inc', 'to = "train"\nslot = "01"\n[inc'),
            "pipeline.toml:22: edge features.clean → train: slot '01' of 'train' is already taken",
        ),
    ],
)
def test_a_mistake_is_named_with_its_line(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in TRAIN_EVAL
    assert message in refused(TRAIN_EVAL.replace(old, new, 1))


LONG_TAG = "\N{GRINNING FACE}" * 70
"""A valid tag (70 characters) of 280 bytes in UTF-8: longer than a folder name may be."""


def test_a_path_through_a_name_longer_than_a_folder_name_is_refused_with_its_line() -> None:
    """``[nodes."<LONG_TAG>"]`` without a ``path`` would live in ``nodes/<LONG_TAG>``, which
    no file system holds (import failed with "File name too long", exit 9): refused with its
    line; given a ``path`` that fits, it reads."""
    text = TRAIN_EVAL.replace("[nodes.train]", f'[nodes."{LONG_TAG}"]')
    text = text.replace('to = "train"', f'to = "{LONG_TAG}"')
    message = refused(text)
    assert f"pipeline.toml:12: path 'nodes/{LONG_TAG}' is not usable: a name in it is" in message
    assert "longer than 255 bytes" in message
    given = text.replace(f'[nodes."{LONG_TAG}"]', f'[nodes."{LONG_TAG}"]\npath = "nodes/long"')
    nodes = parse_definition(given, "pipeline.toml").nodes
    assert {node.key: node.path for node in nodes}[LONG_TAG] == "nodes/long"


def test_a_cycle_among_the_nodes_is_named() -> None:
    text = TRAIN_EVAL + '[nodes.eval]\n[[edges]]\nfrom = "train"\nto = "eval"\n'
    text += '[[edges]]\nfrom = "eval"\nto = "prep"\n'
    assert "cycle: eval → prep → train → eval" in refused(text)


def test_an_edge_inside_one_include_belongs_to_its_own_file() -> None:
    text = TRAIN_EVAL + '[[edges]]\nfrom = "features.a"\nto = "features.b"\n'
    assert "both ends are in include 'features'" in refused(text)


def test_a_node_key_may_not_read_like_a_node_of_an_include() -> None:
    text = TRAIN_EVAL + '[nodes."features.clean"]\n'
    assert "node 'features.clean' is named like node 'clean' of include 'features'" in refused(text)


def test_a_deep_chain_of_edges_is_checked_without_recursion() -> None:
    lines = ["format = 1", "[pipeline]", 'name = "chain"']
    lines += [f"[nodes.n{i}]" for i in range(3000)]
    lines += [f'[[edges]]\nfrom = "n{i}"\nto = "n{i + 1}"' for i in range(2999)]
    definition = parse_definition("\n".join(lines) + "\n", "pipeline.toml")
    assert len(definition.edges) == 2999


def test_every_independent_mistake_is_refused_in_one_reading() -> None:
    """One reading names each mistake with its line, however many there are; an edge naming
    a refused node key is not refused a second time."""
    text = (
        TRAIN_EVAL.replace('name = "train-eval"', 'name = "train-eval"\ncolour = "blue"')
        .replace("[nodes.train]", '[nodes.train]\npath = "/etc/train"')
        .replace('path = "nodes/prep"', 'path = "nodes/prep"\n[nodes."a/b"]')
        + '[[edges]]\nfrom = "prep"\nto = "ghost"\n'
        + '[[edges]]\nfrom = "a/b"\nto = "train"\nslot = "a b"\n'
    )
    with pytest.raises(BundleProblemsError) as caught:
        parse_definition(text, "pipeline.toml")
    assert caught.value.problems == (
        "pipeline.toml:4: unknown key 'colour' in [pipeline] (known: 'name', 'notes', 'py-dir')",
        f"pipeline.toml:13: invalid node tag 'a/b': it contains a slash; a name has {NAME_RULE}",
        "pipeline.toml:15: path '/etc/train' is not usable: it is absolute; write it relative "
        "to pipeline.toml",
        "pipeline.toml:31: edge to 'ghost': no node 'ghost' here (nodes: a/b, prep, train; "
        "includes: features)",
        "pipeline.toml:35: invalid slot 'a b': use 1-32 letters, digits, '_', '-' or '.' "
        "(e.g. 01 or train)",
    )
    assert str(caught.value).startswith("5 problems:\n  - pipeline.toml:4: unknown key")


def test_a_newer_format_is_refused_alone() -> None:
    """Nothing after ``format = 9`` is read: it is written for a schema not known here."""
    text = TRAIN_EVAL.replace("format = 1", "format = 9") + "[colour]\n"
    with pytest.raises(BundleError) as caught:
        parse_definition(text, "pipeline.toml")
    assert not isinstance(caught.value, BundleProblemsError)
    assert "bundle format 9 is newer" in str(caught.value)


def test_a_file_of_twenty_thousand_edges_is_read_in_linear_time() -> None:
    """200 nodes each fed by every node before it (19,900 edges) and one edge back: reading
    it compared each edge with every edge before it and each node with every edge (about 13 s
    of CPU, half a minute on a busy machine, for ``bundle check``, an import or an include
    of such a file); now one look each. The cycle is still named."""
    n = 200
    lines = ["format = 1", "[pipeline]", 'name = "dense"']
    lines += [f"[nodes.n{i}]" for i in range(n)]
    for child in range(n):
        for parent in range(child):
            lines += ["[[edges]]", f'from = "n{parent}"', f'to = "n{child}"', f'slot = "s{parent}"']
    lines += ["[[edges]]", f'from = "n{n - 1}"', 'to = "n0"', 'slot = "back"']
    began = time.process_time()
    with pytest.raises(BundleError, match=r"cycle: n0 → n1 → n10 → "):
        parse_definition("\n".join(lines) + "\n", "dense/pipeline.toml")
    assert time.process_time() - began < 4
