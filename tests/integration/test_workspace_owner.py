"""A command opens only a workspace its user (or root) alone controls.

Every command settles what killed commands left in ``.nodepipe/staging`` before anything else,
so whoever controls a workspace's files steers what the next command removes, as that
command's user. Here another OS user owns a workspace whose staging folder is a link to a folder
of root's: root's ``nodepipe status`` (and ``doctor --repair``, ``backup``, the Python API)
must refuse it and leave that folder alone. A workspace others may write to is refused too; one
reached through a link of the user's own opens.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from nodepipe.domain.errors import WorkspaceError
from support.other_user import OtherUser

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")


def nodepipe_cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODEPIPE, "-w", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def files_in(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text() if path.is_file() else "/"
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = nodepipe.init(tmp_path / "ws")
    ws.pipelines.new("baseline")
    ws.close()
    return ws.root


def test_another_users_workspace_is_refused_and_what_it_points_at_is_left_alone(
    workspace: Path, tmp_path: Path, other: OtherUser
) -> None:
    mine = tmp_path / "mine"
    (mine / "precious").mkdir(parents=True)
    (mine / "precious" / "notes.txt").write_text("root's own work")
    (mine / "a.lock").write_text("")  # looks like a journal entry whose process died
    staging = workspace / ".nodepipe" / "staging"
    staging.rmdir()
    staging.symlink_to(mine)
    other.give(workspace)
    before = files_in(mine)

    for args in (("status", "baseline"), ("doctor", "--repair"), ("backup",)):
        refused = nodepipe_cli(workspace, *args)
        assert files_in(mine) == before, args
        assert refused.returncode == 6, (args, refused.stdout, refused.stderr)
        assert f"refusing to open the workspace {workspace}" in refused.stderr
        assert f"belongs to {other.name}" in refused.stderr
        assert f"run nodepipe there as {other.name}" in refused.stderr
    with pytest.raises(WorkspaceError, match=f"belongs to {other.name}"):
        nodepipe.open(workspace)
    assert files_in(mine) == before
    assert not (workspace / ".nodepipe" / "backups").exists()


def test_a_workspace_others_can_write_to_is_refused(workspace: Path) -> None:
    workspace.chmod(0o777)
    refused = nodepipe_cli(workspace, "status", "baseline")
    assert refused.returncode == 6, refused.stderr
    assert f"other users can write to {workspace}" in refused.stderr
    assert f"chmod go-w {workspace}" in refused.stderr
    (workspace / "nodes").chmod(0o777)
    workspace.chmod(0o755)
    refused = nodepipe_cli(workspace, "status", "baseline")
    assert refused.returncode == 6 and f"write to {workspace / 'nodes'}" in refused.stderr
    (workspace / "nodes").chmod(0o755)
    assert nodepipe_cli(workspace, "status", "baseline").returncode == 0


def test_a_workspace_of_ones_own_opens_through_a_link_in_sticky_tmp(
    workspace: Path, open_area: Path
) -> None:
    link = open_area / "ws-link"
    link.symlink_to(workspace)
    assert nodepipe_cli(link, "status", "baseline").returncode == 0
    with nodepipe.open(link) as ws:
        assert ws.pipelines.get("baseline")
