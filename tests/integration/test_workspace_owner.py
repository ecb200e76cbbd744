"""A command opens only a workspace its user (or root) alone controls.

Every command settles what killed commands left in ``.nodepipe/staging`` before anything else,
so whoever controls a workspace's files steers what the next command removes, as that
command's user. Here another OS user owns a workspace whose staging folder is a link to a folder
of root's: root's ``nodepipe status`` (and ``doctor --repair``, ``backup``, the Python API)
must refuse it and leave that folder alone. A workspace others may write to is refused too; one
reached through a link of the user's own opens.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import nodepipe
from nodepipe.domain.errors import WorkspaceError
from support.other_user import OtherUser

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
ACL = "system.posix_acl_access"


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


def acl(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX access ACL as Linux stores it (``system.posix_acl_access``): (tag, perm, id)."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)


USER_OBJ, USER, GROUP_OBJ, MASK, OTHER, NOBODY = 0x1, 0x2, 0x4, 0x10, 0x20, 0xFFFFFFFF


def test_a_workspace_an_acl_lets_another_user_write_to_is_refused(
    workspace: Path, other: OtherUser
) -> None:
    # mode 0775 with root's own group: only the ACL says that nodepipe-pg may write
    entries = [(USER_OBJ, 7, NOBODY), (USER, 7, other.uid), (GROUP_OBJ, 5, NOBODY)]
    os.setxattr(workspace / "nodes", ACL, acl(*entries, (MASK, 7, NOBODY), (OTHER, 5, NOBODY)))
    refused = nodepipe_cli(workspace, "status", "baseline")
    assert refused.returncode == 6, refused.stderr
    assert f"other users can write to {workspace / 'nodes'}" in refused.stderr
    # an ACL that lets no one else write (root's own entry, a group that only reads) opens
    entries = [(USER_OBJ, 7, NOBODY), (USER, 7, 0), (GROUP_OBJ, 5, NOBODY)]
    os.setxattr(workspace / "nodes", ACL, acl(*entries, (MASK, 7, NOBODY), (OTHER, 5, NOBODY)))
    os.chown(workspace / "nodes", 0, other.gid)  # a group another user is in: it only reads
    assert nodepipe_cli(workspace, "status", "baseline").returncode == 0


def test_a_journal_or_store_another_user_controls_is_refused(
    workspace: Path, other: OtherUser
) -> None:
    theirs = other.folder("np-staging-")
    try:
        (theirs / "a.lock").write_text("")
        os.chown(theirs / "a.lock", other.uid, other.gid)
        staging = workspace / ".nodepipe" / "staging"
        staging.rmdir()
        staging.symlink_to(theirs)
        refused = nodepipe_cli(workspace, "status", "baseline")
        assert refused.returncode == 6, refused.stderr
        assert f"{theirs} belongs to {other.name}" in refused.stderr
        assert (theirs / "a.lock").exists()
        staging.unlink()
        staging.mkdir()
        store = workspace / ".nodepipe" / "store.sqlite"
        store.chmod(0o666)
        refused = nodepipe_cli(workspace, "status", "baseline")
        assert refused.returncode == 6 and f"write to {store}" in refused.stderr
        store.chmod(0o644)
        assert nodepipe_cli(workspace, "status", "baseline").returncode == 0
    finally:
        shutil.rmtree(theirs)


def test_a_link_through_a_folder_another_user_controls_is_refused(
    workspace: Path, tmp_path: Path, other: OtherUser
) -> None:
    # the link's end is root's own folder, but nodepipe-pg may point their link elsewhere
    mine = tmp_path / "staging"
    mine.mkdir()
    theirs = other.folder("np-hop-")
    try:
        (theirs / "hop").symlink_to(mine)
        os.chown(theirs / "hop", other.uid, other.gid, follow_symlinks=False)
        staging = workspace / ".nodepipe" / "staging"
        staging.rmdir()
        staging.symlink_to(theirs / "hop")
        refused = nodepipe_cli(workspace, "status", "baseline")
        assert refused.returncode == 6, refused.stderr
        assert f"{theirs} belongs to {other.name}" in refused.stderr
        staging.unlink()
        staging.symlink_to(mine)  # the same folder, through no one else's link: opens
        assert nodepipe_cli(workspace, "status", "baseline").returncode == 0
    finally:
        shutil.rmtree(theirs)


def test_init_in_a_folder_another_user_controls_is_refused(
    tmp_path: Path, other: OtherUser
) -> None:
    theirs = other.folder("np-init-")
    try:
        for place in (theirs, theirs / "ws"):
            with pytest.raises(WorkspaceError, match=f"{theirs} belongs to {other.name}"):
                nodepipe.init(place)
            refused = subprocess.run(
                [NODEPIPE, "init", str(place)], capture_output=True, text=True, check=False
            )
            assert refused.returncode == 6, refused.stderr
            assert f"{theirs} belongs to {other.name}" in refused.stderr
            assert list(theirs.iterdir()) == []
    finally:
        shutil.rmtree(theirs)
