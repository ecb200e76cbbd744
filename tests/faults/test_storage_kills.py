"""Killed while uploading to the object storage: nothing half-made is ever read.

The orchestrator (shipping a node's code and its parents' outputs) and a worker (uploading a
node's outputs) upload the same way; here a real process is SIGKILLed at the moment its upload
is complete in ``incoming/`` but not yet in place, and at a later upload of the same batch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodepipe.workspace.crash_points import CRASH_ENV
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.objects import DamagedObjectError, MissingObjectError
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import download_outputs, upload_outputs

UPLOAD = """
import sys
from pathlib import Path
from nodepipe.workspace.objects import DamagedObjectError
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import upload_outputs
print(upload_outputs(Storage.open(sys.argv[1]), Path(sys.argv[2])))
"""


def outputs(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for number in range(3):
        (data / f"part-{number}.bin").write_bytes(os.urandom(200_000))
    return data


def upload_killed_at(bucket: Path, data: Path, point: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", UPLOAD, str(bucket), str(data)],
        env={**os.environ, CRASH_ENV: point},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("nth", [1, 2, 4])
def test_an_upload_killed_midway_names_nothing_missing(tmp_path: Path, nth: int) -> None:
    """Killed at the n-th object (4: the manifest itself): the outputs' digest is not in the
    storage, so nobody can ask for them; what was in place is whole; the next upload
    completes the rest and the outputs download identical."""
    bucket, data = tmp_path / "bucket", outputs(tmp_path)
    digest = fingerprint_outputs(data)

    killed = upload_killed_at(bucket, data, f"storage.uploaded@{nth}")

    assert killed.returncode == -9, killed.stderr
    storage = Storage.open(str(bucket))
    assert not storage.has(digest)
    assert len(list(storage.digests())) == nth - 1
    for content in storage.digests():
        storage.read(content)  # every content in place reads back whole (checked)
    assert len(storage.incoming()) == 1
    with pytest.raises(MissingObjectError):
        download_outputs(storage, digest, tmp_path / "nothing")

    assert upload_outputs(storage, data) == digest
    download_outputs(storage, digest, tmp_path / "back")
    assert fingerprint_outputs(tmp_path / "back") == digest


def test_a_replacement_killed_midway_leaves_the_damaged_content_and_its_note(
    tmp_path: Path,
) -> None:
    """A refused content is being replaced when the uploader is SIGKILLed with the right bytes
    whole in ``incoming/``: readers still get the old (refused) content, never a mix, the
    refusal's note stays, and the next upload replaces it."""
    bucket, data = tmp_path / "bucket", outputs(tmp_path)
    storage = Storage.open(str(bucket))
    digest = upload_outputs(storage, data)
    part = next(d for d in storage.digests() if d != digest)
    damaged = bytes(200_000)  # the right size: only the refusal's note gets it checked
    path = Path(storage.object_path(part))
    path.chmod(0o600)
    path.write_bytes(damaged)
    with pytest.raises(DamagedObjectError):
        download_outputs(storage, digest, tmp_path / "refused")

    killed = upload_killed_at(bucket, data, "storage.uploaded@1")

    assert killed.returncode == -9, killed.stderr
    assert path.read_bytes() == damaged
    assert storage.refused() == {part} and len(storage.incoming()) == 1
    assert upload_outputs(storage, data) == digest
    download_outputs(storage, digest, tmp_path / "back")
    assert fingerprint_outputs(tmp_path / "back") == digest
    assert storage.refused() == set()
