"""Kill -9 at every step of a ``package pull``: the pipeline is whole or absent, no scratch
folder of the pulled archive is left once the next command has run. A ``pull --into`` killed
at any step leaves the target pipeline as it was, or with the whole include; a kept bundle
under ``.nodepipe/packages`` that no include records does not outlive the next command. A
``package build`` killed while copying into a folder on another file system leaves only whole
files there once the next command has run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from faults.test_bundle_kills import (
    check_workspace,
    files_of,
    fresh,
    kill_and_recover,
    store_rows,
)
from support.file_systems import folder_on_another_file_system
from support.locked_bundles import APPEND_INPUTS, LIBRARY, USES_LIB, make_node_template
from support.locked_bundles import write_bundle as write_locked_bundle

ALPHA = """\
format = 1
[pipeline]
name = "alpha"
[nodes.prep]
"""
INTO_POINTS = (
    "package.unpacked",
    "package.kept",
    "bundle.staged-one@2",
    "folders.recorded",
    "folders.moved@2",
    "folders.synced",
    "folders.committed",
)
PULL_POINTS = (
    "package.unpacked",
    "bundle.staged-one@2",
    "folders.moved@2",
    "folders.synced",
    "bundle.checked",
    "folders.committed",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace ``ws`` holding pipeline ``features`` (built as ``dist/*.whl``) and pipeline
    ``alpha`` (one node, ``prep``)."""
    root = tmp_path_factory.mktemp("world")
    template = make_node_template(root)
    write_locked_bundle(
        root / "features",
        LIBRARY,
        {"nodes/clean": USES_LIB, "nodes/scale": USES_LIB, "nodes/old": APPEND_INPUTS},
        template,
        {"lib/helpers.py": "def mark(tag):\n    return tag.upper()\n"},
    )
    write_locked_bundle(root / "alpha", ALPHA, {"nodes/prep": APPEND_INPUTS}, template)
    ws = nodepipe.init(root / "ws")
    ws.bundles.import_(root / "features")
    ws.bundles.import_(root / "alpha")
    ws.packages.build("features", destination=root / "dist")
    ws.close()
    return root


@pytest.mark.parametrize("point", PULL_POINTS)
def test_a_killed_pull_leaves_the_whole_pipeline_or_nothing(
    point: str, world: Path, tmp_path: Path
) -> None:
    root = fresh(world, tmp_path / "w")
    before = check_workspace(root)
    (wheel,) = (root / "dist").glob("*.whl")
    kill_and_recover(root, ("package", "pull", str(wheel), "--alias", "copy"), point)
    tags, _, _ = store_rows(root)
    ids = check_workspace(root)
    if "copy" in tags:
        assert len(ids - before) == 3, "a partial pipeline"
    else:
        assert ids == before


@pytest.mark.parametrize("point", INTO_POINTS)
def test_a_killed_pull_into_leaves_the_pipeline_as_it_was_or_with_the_whole_include(
    point: str, world: Path, tmp_path: Path
) -> None:
    root = fresh(world, tmp_path / "w")
    before = check_workspace(root)
    kept = root / "ws" / ".nodepipe" / "packages"
    nodes_before = files_of(root / "ws" / "nodes")
    (wheel,) = (root / "dist").glob("*.whl")
    feed = ("--input", "raw=prep")  # the package's bundle declares input raw
    argv = ("package", "pull", str(wheel), "--into", "alpha", "--alias", "feat", *feed)
    kill_and_recover(root, argv, point)
    tags, _, includes = store_rows(root)
    ids = check_workspace(root)
    assert tags == {"features", "alpha"}, "no pipeline is made or lost"
    if "feat" in includes:
        assert len(ids - before) == 3, "a partial include"
        assert [p.name for p in kept.iterdir()] == ["features-0.1.0"]
        with nodepipe.Workspace.open(root / "ws") as ws:
            (include,) = ws.bundles.includes("alpha")
            assert include.nodes == ("feat.clean", "feat.old", "feat.scale")
    else:
        assert ids == before
        assert files_of(root / "ws" / "nodes") == nodes_before, "a node of alpha changed"
        assert not kept.exists() or list(kept.iterdir()) == [], "a kept bundle no include uses"


@pytest.fixture
def other_file_system(tmp_path: Path) -> Iterator[Path]:
    with folder_on_another_file_system(tmp_path) as folder:
        yield folder


@pytest.mark.parametrize("point", ("aside-written.whl", "aside-written.gz"))
def test_a_build_killed_while_copying_to_another_file_system_leaves_only_whole_files(
    point: str, world: Path, tmp_path: Path, other_file_system: Path
) -> None:
    """The wheel and sdist are copied beside their place and renamed into it there: killed
    after a copy was written (the wheel's, then the sdist's with the wheel in place), the
    hidden copy (``.NAME.<hex>.tmp``) stayed in the destination for good. The next command
    removes it; what is in place is whole (the bytes of the same build)."""
    root = fresh(world, tmp_path / "w")
    dist = other_file_system / "dist"
    kill_and_recover(root, ("package", "build", "features", "--destination", str(dist)), point)
    left = sorted(p.name for p in dist.iterdir())
    assert left == ([] if point.endswith(".whl") else ["features-0.1.0-py2.py3-none-any.whl"])
    for name in left:
        assert (dist / name).read_bytes() == (root / "dist" / name).read_bytes()
    check_workspace(root)


@pytest.mark.parametrize("point", ("package.exported", "package.built"))
def test_a_build_killed_before_its_files_are_moved_leaves_the_destination_as_it_was(
    point: str, world: Path, tmp_path: Path
) -> None:
    """Killed after the export, or after uv built the files in the journal's scratch folder:
    the destination holds the previous build alone, byte for byte, nothing half-made beside
    it, and the next command removes the scratch folder."""
    root = fresh(world, tmp_path / "w")
    before = files_of(root / "dist")
    argv = ("package", "build", "features", "--version", "0.2.0", "--destination")
    kill_and_recover(root, (*argv, str(root / "dist")), point)
    assert files_of(root / "dist") == before
    assert sorted(p.name for p in (root / "dist").iterdir()) == sorted(before)
    check_workspace(root)
