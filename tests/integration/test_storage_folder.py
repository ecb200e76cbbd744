"""A storage that is a local folder, seen by another OS user of the machine.

What a workspace puts in a bucket folder (its code, its outputs, its run records) is private to
its owner; a team folder (group-writable, set-group-ID) shares it with the group and no one
else; a stricter umask is obeyed. The other user is ``support.other_user``'s (these tests run as
root, so only its refusals prove anything).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import upload_outputs
from support.other_user import OtherUser


def filled(bucket: Path, tmp_path: Path) -> Storage:
    """The storage at ``bucket`` holding a node's outputs and a run record."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.csv").write_text("patient,diagnosis\n")
    storage = Storage.open(str(bucket))
    upload_outputs(storage, data)
    storage.put_record("a" * 64, b'{"outputs": "x"}')
    return storage


def modes(bucket: Path) -> tuple[set[int], set[int]]:
    """(the modes of the folders, the modes of the files) in ``bucket``, the root included."""
    found = [bucket, *bucket.rglob("*")]
    folders = {stat.S_IMODE(p.stat().st_mode) for p in found if p.is_dir()}
    return folders, {stat.S_IMODE(p.stat().st_mode) for p in found if p.is_file()}


def test_a_bucket_folder_is_private_to_its_owner(
    open_area: Path, tmp_path: Path, other: OtherUser
) -> None:
    bucket = open_area / "made" / "bucket"
    storage = filled(bucket, tmp_path)
    secret = next(p for p in (bucket / "objects").glob("*/*") if p.read_bytes().startswith(b"pat"))

    assert modes(bucket) == ({0o700}, {0o400})
    assert other.run("/bin/cat", str(secret)).returncode != 0
    assert other.run("/bin/ls", str(bucket)).returncode != 0
    assert (
        stat.S_IMODE((open_area / "made").stat().st_mode) == 0o755
    )  # above the bucket: as mkdir -p
    assert storage.read(secret.name) == b"patient,diagnosis\n"


def test_a_team_folder_shares_with_its_group_only(
    open_area: Path, tmp_path: Path, other: OtherUser
) -> None:
    """A folder the group may write and search, with the set-group-ID bit: its group reads
    and adds to what the owner uploaded; others (outside the group) get nothing."""
    bucket = open_area / "team"
    bucket.mkdir()
    os.chown(bucket, 0, other.gid)
    bucket.chmod(0o2770)
    filled(bucket, tmp_path)
    secret = next(p for p in (bucket / "objects").glob("*/*") if p.read_bytes().startswith(b"pat"))

    folders, files = modes(bucket)
    assert folders == {0o2770} and files == {0o440}
    assert {p.stat().st_gid for p in bucket.rglob("*")} == {other.gid}
    assert other.run("/bin/cat", str(secret)).stdout == "patient,diagnosis\n"
    assert other.run("/bin/touch", str(bucket / "incoming" / "theirs.tmp")).returncode == 0


def test_a_stricter_umask_is_obeyed(open_area: Path, tmp_path: Path, other: OtherUser) -> None:
    bucket = open_area / "team"
    bucket.mkdir()
    os.chown(bucket, 0, other.gid)
    bucket.chmod(0o2770)
    previous = os.umask(0o077)
    try:
        filled(bucket, tmp_path)
    finally:
        os.umask(previous)

    folders, files = modes(bucket)
    assert folders == {0o2770, 0o2700} and files == {0o400}  # the root is the test's own
    secret = next(p for p in (bucket / "objects").rglob("*") if p.is_file())
    assert other.run("/bin/cat", str(secret)).returncode != 0
