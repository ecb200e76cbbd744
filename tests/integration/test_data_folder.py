"""A node's data/ is its own folder: one that is a link (to a bigger disk, say) or a file is
refused before the node runs, naming it, and nothing it leads to is touched.

Before, a run moved a linked data/ aside and left the link for ever in ``.staging/`` (the
outputs silently landed in the node's folder instead), a data/ that was a file failed with
"File exists" and no log, and `node clear-data` of a linked data/ failed with "Cannot call
rmtree on a symbolic link".
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from support.worlds import build_pipeline


@pytest.fixture
def single(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    build_pipeline(lab, "single", {"a": []})
    return lab


def elsewhere(tmp_path: Path) -> Path:
    """A folder of the user's outside the workspace, holding a file of theirs."""
    big_disk = tmp_path / "big-disk"
    big_disk.mkdir()
    (big_disk / "precious.txt").write_text("keep me\n")
    return big_disk


@pytest.mark.parametrize("kind", ["link", "file"])
def test_a_run_refuses_a_data_folder_that_is_not_the_nodes_own(
    single: nodepipe.Workspace, cli: CliRunner, tmp_path: Path, kind: str
) -> None:
    folder = single.nodes.path("a")
    big_disk = elsewhere(tmp_path)
    (folder / "data").rmdir()
    if kind == "link":
        (folder / "data").symlink_to(big_disk)
        said = f"{folder / 'data'} is a link to {big_disk}: a node's outputs live in its own"
    else:
        (folder / "data").write_text("not a folder\n")
        said = f"{folder / 'data'} is not a folder: a node's outputs live in its own"
    ran = cli("run", "single")
    assert ran.code == 8, ran.stderr
    assert said in ran.stdout + ran.stderr
    assert "could not be removed" not in ran.stdout + ran.stderr
    log = cli("logs", "a")
    assert log.code == 0, log.stderr
    assert said in log.stdout  # the log says why, as for any node nodepipe could not run
    assert sorted(p.name for p in big_disk.iterdir()) == ["precious.txt"]
    assert (big_disk / "precious.txt").read_text() == "keep me\n"
    staging = folder / ".staging"  # nothing moved aside and left there
    assert not staging.exists() or list(staging.iterdir()) == []
    assert (folder / "data").is_symlink() == (kind == "link")
    (folder / "data").unlink()  # as the message says: remove it and run again
    again = cli("run", "single")
    assert again.code == 0, again.stderr
    assert (folder / "data").is_dir() and not (folder / "data").is_symlink()


def test_clear_data_removes_a_link_in_datas_place_not_what_it_leads_to(
    single: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    folder = single.nodes.path("a")
    big_disk = elsewhere(tmp_path)
    (folder / "data").rmdir()
    (folder / "data").symlink_to(big_disk)
    cleared = cli("node", "clear-data", "a", "--yes")
    assert cleared.code == 0, cleared.stderr
    assert (folder / "data").is_dir() and not (folder / "data").is_symlink()
    assert list((folder / "data").iterdir()) == []
    assert (big_disk / "precious.txt").read_text() == "keep me\n"
