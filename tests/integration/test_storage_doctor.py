"""`nodepipe doctor --storage`: listing and collecting what no run of the workspace names."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from nodepipe.workspace.objects import DamagedObjectError, ObjectStore
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import download_outputs, upload_code, upload_outputs
from support.worlds import CHAIN, build_pipeline

from .conftest import CliRunner


def test_doctor_lists_then_collects_only_the_unreferenced(
    lab: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    build_pipeline(lab, "baseline", CHAIN)
    assert cli("run", "baseline").code == 0
    bucket = tmp_path / "bucket"
    storage = Storage.open(str(bucket))
    kept = upload_outputs(storage, lab.nodes.path("clean") / "data")
    orphan, _ = storage.put_bytes(b"outputs of a run whose record is gone")
    old_code = lab.nodes.path("plot") / "code"
    (old_code / "main.py").write_text("print('an old version')\n")
    stale_code = upload_code(storage, old_code)
    (bucket / "incoming").mkdir(exist_ok=True)
    (bucket / "incoming" / "cut-short.tmp").write_bytes(b"half an upl")
    (bucket / "damaged").mkdir()
    (bucket / "damaged" / ("e" * 64)).write_bytes(b"")  # a refused content since removed by hand

    recent = cli("doctor", "--storage", str(bucket), "--json")
    listed = cli("doctor", "--storage", str(bucket), "--grace", "0", "--json")

    assert recent.code == 0 and recent.json()["unreferenced"] == []
    assert recent.json()["too_recent"] >= 3
    report = listed.json()
    assert orphan in report["unreferenced"] and stale_code in report["unreferenced"]
    assert kept not in report["unreferenced"]  # the store names it: clean's outputs
    assert report["uploads_cut_short"] == [str(bucket / "incoming" / "cut-short.tmp")]
    assert storage.has(orphan)  # listing changes nothing

    collected = cli("doctor", "--storage", str(bucket), "--grace", "0", "--collect")

    assert collected.code == 0, collected
    assert "removed: " in collected.stdout
    assert not storage.has(orphan) and not storage.has(stale_code)
    assert storage.incoming() == [] and storage.refused() == set()
    download_outputs(storage, kept, tmp_path / "still-there")
    assert (tmp_path / "still-there").iterdir()


def test_doctor_storage_needs_a_url(lab: nodepipe.Workspace, cli: CliRunner) -> None:
    result = cli("doctor", "--storage")
    assert result.code == 2 and "[storage] url" in result.stderr
    assert cli("doctor", "--collect").code == 2


def _damage(path: Path, data: bytes) -> None:
    """Write ``data`` over a stored content (read-only in its store), as bit rot would."""
    path.chmod(0o644)
    path.write_bytes(data)
    path.chmod(0o400)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_repair_with_storage_is_refused_and_changes_nothing(
    lab: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """``doctor --objects --repair --storage URL`` ran the storage's survey and ignored
    ``--repair`` (and ``--objects``): the user was told nothing, and nothing was repaired."""
    bucket = tmp_path / "bucket"
    storage = Storage.open(str(bucket))
    digest, _ = storage.put_bytes(b"outputs a worker uploaded")
    _damage(Path(storage.object_path(digest)), b"outputs a worker uploade")
    with pytest.raises(DamagedObjectError):
        storage.read(digest)
    objects = ObjectStore(lab.context.layout.objects_dir)
    local, _ = objects.put_bytes(b"a recorded lock")
    _damage(objects.path(local), b"a recorded loc")
    before = (_files(bucket), _files(objects.root))

    for command in (
        ["--objects", "--repair", "--storage", str(bucket)],
        ["--repair", "--storage", str(bucket)],
        ["--storage", str(bucket), "--repair", "--collect", "--grace", "0"],
    ):
        refused = cli("doctor", *command)
        assert refused.code == 2, (command, refused.stdout)
        assert "--repair does not go with --storage" in refused.stderr
        assert "run again the nodes that made them" in refused.stderr
        assert (_files(bucket), _files(objects.root)) == before
    for flag in ("--objects", "--dry-run", "--rebuild"):
        refused = cli("doctor", "--storage", str(bucket), flag)
        assert refused.code == 2 and "--storage" in refused.stderr, (flag, refused.stdout)
        assert (_files(bucket), _files(objects.root)) == before


def test_doctor_storage_lists_the_damaged_contents_until_uploaded_again(
    lab: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    bucket = tmp_path / "bucket"
    storage = Storage.open(str(bucket))
    data = b"outputs a worker uploaded"
    digest, _ = storage.put_bytes(data)
    _damage(Path(storage.object_path(digest)), b"outputs a worker uploade")
    assert cli("doctor", "--storage", str(bucket), "--json").json()["damaged"] == []  # unread
    with pytest.raises(DamagedObjectError):
        storage.read(digest)

    listed = cli("doctor", "--storage", str(bucket), "--json")
    said = cli("doctor", "--storage", str(bucket))

    assert listed.code == 0 and listed.json()["damaged"] == [digest]
    assert "1 damaged contents" in said.stdout and digest[:12] in said.stdout
    assert "run again the nodes that made them" in said.stdout
    storage.put_bytes(data, recheck=True)  # what running the node again uploads
    assert storage.read(digest) == data
    assert cli("doctor", "--storage", str(bucket), "--json").json()["damaged"] == []
