"""Kill -9 at every step of a ``package pull``: the pipeline is whole or absent, no scratch
folder of the pulled archive is left once the next command has run."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from faults.test_bundle_kills import check_workspace, fresh, kill_and_recover, store_rows
from support.locked_bundles import APPEND_INPUTS, LIBRARY, USES_LIB, make_node_template
from support.locked_bundles import write_bundle as write_locked_bundle

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
    """A workspace ``ws`` holding pipeline ``features`` (built as ``dist/*.whl``)."""
    root = tmp_path_factory.mktemp("world")
    template = make_node_template(root)
    write_locked_bundle(
        root / "features",
        LIBRARY,
        {"nodes/clean": USES_LIB, "nodes/scale": USES_LIB, "nodes/old": APPEND_INPUTS},
        template,
        {"lib/helpers.py": "def mark(tag):\n    return tag.upper()\n"},
    )
    ws = nodepipe.init(root / "ws")
    ws.bundles.import_(root / "features")
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
