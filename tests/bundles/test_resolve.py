"""Resolving includes: relative to each including file, named NS.key at every depth, cycles and
missing includes named, inputs and params applied, a content hash that follows every file."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.bundles.errors import (
    BundleError,
    BundleProblemsError,
    IncludeCycleError,
    IncludeNotFoundError,
)
from nodepipe.bundles.loaders import Loaders, PackageLoader
from nodepipe.bundles.model import EdgeEntry, ResolvedPipeline
from nodepipe.bundles.resolve import resolve_bundle
from support.bundle_worlds import write_bundle

NO_PACKAGES = Loaders(package=PackageLoader([]))


def train_with_features(root: Path) -> Path:
    """``root/project/train`` includes ``../shared/features``, which includes ``sub`` beside it."""
    write_bundle(root / "shared" / "features" / "sub", "sub", {"x": "print('x')\n"})
    write_bundle(
        root / "shared" / "features",
        "features",
        {"clean": "print('clean')\n", "scale": ""},
        edges=[("clean", "scale", "01"), ("sub.x", "scale", "02")],
        inputs={"raw": ["clean"]},
        params={"window": 3, "mode": "fast"},
        includes={"sub": {"source": "sub"}},
        py_dir={"helpers.py": "def double(x):\n    return 2 * x\n"},
    )
    return write_bundle(
        root / "project" / "train",
        "train",
        {"prep": "", "fit": ""},
        edges=[("features.scale", "fit", "01")],
        includes={
            "features": {
                "source": "../shared/features",
                "inputs": {"raw": "prep"},
                "params": {"window": 7},
            }
        },
    )


def resolved(source: Path | str, cwd: Path, loaders: Loaders = NO_PACKAGES) -> ResolvedPipeline:
    return resolve_bundle(source, cwd=cwd, loaders=loaders)


def test_includes_are_flattened_under_their_namespace_at_every_depth(tmp_path: Path) -> None:
    pipeline = resolved(train_with_features(tmp_path), tmp_path / "elsewhere")
    assert [n.name for n in pipeline.nodes] == [
        "fit", "prep", "features.clean", "features.scale", "features.sub.x",
    ]  # fmt: skip
    assert sorted(pipeline.edges, key=lambda e: (e.parent, e.child)) == [
        EdgeEntry("features.clean", "features.scale", "01"),
        EdgeEntry("features.scale", "fit", "01"),
        EdgeEntry("features.sub.x", "features.scale", "02"),
        EdgeEntry("prep", "features.clean", "raw"),
    ]
    assert [(i.namespace, i.definition.name) for i in pipeline.includes] == [
        ("features", "features"),
        ("features.sub", "sub"),
    ]
    assert pipeline.includes[0].location.uri == str(tmp_path / "shared" / "features")
    assert pipeline.includes[1].location.uri == str(tmp_path / "shared" / "features" / "sub")


def test_a_node_reads_its_own_bundle_files_params_and_py_dir(tmp_path: Path) -> None:
    nodes = {n.name: n for n in resolved(train_with_features(tmp_path), tmp_path).nodes}
    clean = nodes["features.clean"]
    assert dict(clean.params) == {"window": 7, "mode": "fast"}
    assert clean.py_dir == "lib" and clean.namespace == "features"
    assert clean.files.read_bytes(f"{clean.entry.path}/code/main.py") == b"print('clean')\n"
    assert b"double" in clean.files.read_bytes("lib/helpers.py")
    assert dict(nodes["prep"].params) == {} and nodes["prep"].py_dir is None


def test_an_include_cycle_is_refused_with_its_chain(tmp_path: Path) -> None:
    write_bundle(
        tmp_path / "features", "features", {"a": ""}, includes={"train": {"source": "../train"}}
    )
    write_bundle(
        tmp_path / "train", "train", {"b": ""}, includes={"features": {"source": "../features"}}
    )
    with pytest.raises(IncludeCycleError, match="include cycle: train → features → train") as e:
        resolved(tmp_path / "train", tmp_path)
    assert e.value.chain == ("train", "features", "train")


def test_a_bundle_including_itself_is_a_cycle(tmp_path: Path) -> None:
    write_bundle(tmp_path / "loop", "loop", {"a": ""}, includes={"me": {"source": "."}})
    with pytest.raises(IncludeCycleError, match="include cycle: loop → loop"):
        resolved(tmp_path / "loop", tmp_path)


def test_a_missing_include_names_the_including_file_and_every_place(tmp_path: Path) -> None:
    write_bundle(
        tmp_path / "train", "train", {"a": ""}, includes={"f": {"source": "../shared/nope"}}
    )
    with pytest.raises(IncludeNotFoundError) as caught:
        resolved(tmp_path / "train", tmp_path / "cwd")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'train' / 'pipeline.toml'}: include 'f': no bundle")
    # beside train/, then cwd/../shared/nope (the same folder), then cwd/pipelines/../shared/nope
    assert caught.value.searched == (
        str(tmp_path / "shared/nope"),
        str(tmp_path / "cwd/shared/nope"),
    )
    assert all(place in message for place in caught.value.searched)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"edges": [("features.nope", "fit", "01")]}, "include 'features' has no node 'nope'"),
        ({"inputs": {"nope": "prep"}}, "'features' declares no input 'nope' (its inputs: raw)"),
        (
            {"edges": [("prep", "features.clean", "raw")]},
            "slot 'raw' of 'features.clean' is fed twice",
        ),
        ({"edges": [("features.scale", "prep", "01")]}, "cycle: features.clean → features.scale"),
    ],
)
def test_what_only_the_included_files_can_tell_is_checked(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    train_with_features(tmp_path)
    include: dict[str, object] = {"source": "../shared/features", "inputs": {"raw": "prep"}}
    include.update({k: v for k, v in change.items() if k == "inputs"})
    edges = change.get("edges", [])
    write_bundle(
        tmp_path / "project" / "train",
        "train",
        {"prep": "", "fit": ""},
        edges=edges,  # type: ignore[arg-type]
        includes={"features": include},
    )
    with pytest.raises(BundleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolved(tmp_path / "project" / "train", tmp_path)


def test_the_content_hash_follows_code_py_dir_and_nested_includes(tmp_path: Path) -> None:
    train = train_with_features(tmp_path)
    features = tmp_path / "shared" / "features"

    def hashes() -> tuple[str, str, str]:
        pipeline = resolved(train, tmp_path)
        includes = pipeline.includes
        return includes[0].content_hash, includes[1].content_hash, pipeline.content_hash

    first = hashes()
    assert first == hashes()
    assert first[0].startswith("sha256:") and len(set(first)) == 3
    (features / "nodes" / "clean" / "data").mkdir()
    (features / "nodes" / "clean" / "data" / "out.csv").write_text("1\n")
    (features / "nodes" / "clean" / "code" / ".venv").mkdir()
    (features / "nodes" / "clean" / "code" / ".venv" / "x").write_text("env\n")
    assert hashes() == first, "outputs and environments are not the include's content"
    (features / "lib" / "helpers.py").write_text("def double(x):\n    return x + x\n")
    second = hashes()
    assert second[0] != first[0] and second[1] == first[1] and second[2] != first[2]
    (features / "sub" / "nodes" / "x" / "code" / "main.py").write_text("print('y')\n")
    third = hashes()
    assert third[0] != second[0] and third[1] != second[1] and third[2] != second[2]
    (train / "nodes" / "fit" / "code" / "main.py").write_text("print('fit')\n")
    fourth = hashes()
    assert fourth[:2] == third[:2] and fourth[2] != third[2]


def test_a_root_given_as_a_relative_source_is_found_from_cwd_or_its_pipelines(
    tmp_path: Path,
) -> None:
    write_bundle(tmp_path / "pipelines" / "daily", "daily", {"a": ""})
    assert resolved("daily", tmp_path).definition.name == "daily"
    assert resolved(Path("pipelines/daily"), tmp_path).definition.name == "daily"
    with pytest.raises(IncludeNotFoundError, match=r"no pipeline\.toml in"):
        resolved(tmp_path / "nowhere", tmp_path)


def test_the_current_directory_is_given_never_taken_from_the_process(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cwd must be an absolute directory"):
        resolved(train_with_features(tmp_path), Path("relative"))


def test_every_include_problem_and_graph_problem_is_refused_together(tmp_path: Path) -> None:
    """Two includes that cannot be read and a cycle through the one that can: all three in one
    error; the edge into a missing include is left to that include's own problem."""
    train_with_features(tmp_path)
    write_bundle(tmp_path / "shared" / "broken", "broken", {"a": ""})
    (tmp_path / "shared" / "broken" / "pipeline.toml").write_text("format = 1\n[pipeline\n")
    write_bundle(
        tmp_path / "project" / "train",
        "train",
        {"prep": "", "fit": ""},
        edges=[("nope.x", "fit", "01"), ("features.scale", "prep", "01")],
        includes={
            "nope": {"source": "../shared/nope"},
            "broken": {"source": "../shared/broken"},
            "features": {"source": "../shared/features", "inputs": {"raw": "prep"}},
        },
    )
    with pytest.raises(BundleProblemsError) as caught:
        resolved(tmp_path / "project" / "train", tmp_path)
    problems = caught.value.problems
    assert len(problems) == 3, problems
    assert "broken/pipeline.toml:2:10: malformed TOML" in problems[0]
    assert "include 'nope': no bundle" in problems[1]
    assert problems[2].endswith("cycle: features.clean → features.scale → prep → features.clean")


def include_chain(root: Path, depth: int, namespace: str = "x", times: int = 1) -> Path:
    """``b0`` includes ``b1`` (``times`` times, as ``x``, ``x2``…), which includes ``b2``…,
    down to ``b<depth>``; each holds one node ``n``."""
    for level in range(depth, -1, -1):
        source = {"source": f"../b{level + 1}"}
        names = [namespace, *(f"{namespace}{i}" for i in range(2, times + 1))]
        includes = {name: source for name in names} if level < depth else None
        write_bundle(root / f"b{level}", f"b{level}", {"n": ""}, includes=includes)
    return root / "b0"


def test_includes_nested_thousands_deep_are_refused_not_a_crash(tmp_path: Path) -> None:
    """1,200 levels of includes: a clear refusal naming where it stops (a node's tag holds at
    most 100 characters, so about 50 levels), never Python's RecursionError."""
    with pytest.raises(BundleError) as caught:
        resolved(include_chain(tmp_path, 1200), tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'b49' / 'pipeline.toml'}: include 'x': its nodes")
    assert "longer than 100 characters (at include depth 50)" in message


def test_an_included_node_named_longer_than_a_tag_may_be_is_refused(tmp_path: Path) -> None:
    """Two includes with 45-character namespaces would name a node with 115 characters, which
    no tag may hold (every later command would refuse it): refused, naming the node."""
    write_bundle(tmp_path / "inner", "inner", {"clean_and_scale_the_raw": ""})
    write_bundle(tmp_path / "mid", "mid", {}, includes={"b" * 45: {"source": "../inner"}})
    write_bundle(tmp_path / "top", "top", {"t": ""}, includes={"a" * 45: {"source": "../mid"}})
    with pytest.raises(BundleError) as caught:
        resolved(tmp_path / "top", tmp_path)
    assert str(caught.value).startswith(
        f"{tmp_path / 'inner' / 'pipeline.toml'}: node 'clean_and_scale_the_raw' cannot be "
        "included: invalid node tag"
    )
    assert "it is longer than 100 characters" in str(caught.value)


def test_a_diamond_of_includes_is_refused_before_it_multiplies(tmp_path: Path) -> None:
    """Each bundle includes the next twice: 11 levels make 2,047 includes and 4,095 nodes out
    of 12 small files (30 levels: a billion). Refused past 1,000 includes, at once."""
    with pytest.raises(BundleError) as caught:
        resolved(include_chain(tmp_path, 11, times=2), tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'b0' / 'pipeline.toml'}: the bundle brings more than 1000 includes with "
        "its own (at every depth; a bundle included twice counts twice); refused"
    )
