"""The object storage for remote workers, over a local folder and over moto's S3 (s3fs).

Every test runs against both: what a user sees must not depend on where the bucket is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from nodepipe.domain.errors import InvalidInputError
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.objects import DamagedObjectError, MissingObjectError, ObjectStore
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import (
    download_code,
    download_outputs,
    upload_code,
    upload_outputs,
)
from support.s3_server import S3Server


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture(params=["folder", "s3"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Storage:
    if request.param == "folder":
        return Storage.open(str(tmp_path / "bucket"))
    server: S3Server = request.getfixturevalue("s3_server")
    for key, value in server.environment.items():
        monkeypatch.setenv(key, value)
    prefix = request.node.name.replace("[", "-").rstrip("]")
    return Storage.open(server.url(f"{prefix}-{os.getpid()}"))


def outputs(root: Path) -> Path:
    data = root / "data"
    (data / "sub").mkdir(parents=True)
    (data / "table.csv").write_text("a,b\n1,2\n")
    (data / "sub" / "same.txt").write_text("same")
    (data / "copy.txt").write_text("same")
    (data / "empty").write_bytes(b"")
    return data


def test_outputs_travel_by_the_digest_the_store_records(storage: Storage, tmp_path: Path) -> None:
    """The digest of uploaded outputs is their output fingerprint; they come back identical."""
    data = outputs(tmp_path)

    digest = upload_outputs(storage, data)
    target = tmp_path / "elsewhere" / "staging"
    download_outputs(storage, digest, target)

    assert digest == fingerprint_outputs(data)
    assert fingerprint_outputs(target) == digest
    assert (target / "sub" / "same.txt").read_text() == "same"
    assert (target / "empty").read_bytes() == b""


def test_unchanged_contents_are_stored_once(storage: Storage, tmp_path: Path) -> None:
    data = outputs(tmp_path)
    upload_outputs(storage, data)
    before = sorted(storage.digests())

    again = upload_outputs(storage, data)

    assert sorted(storage.digests()) == before
    assert len(before) == 4  # three distinct contents ("same" twice) and the manifest
    assert again in before
    assert storage.incoming() == []


def test_a_damaged_content_is_refused_and_nothing_is_made(storage: Storage, tmp_path: Path) -> None:
    data = outputs(tmp_path)
    digest = upload_outputs(storage, data)
    damaged = fingerprint_outputs(data)  # any content: here the manifest itself
    table = next(d for d in storage.digests() if storage.read(d) == b"a,b\n1,2\n")
    storage.fs.pipe_file(storage.object_path(table), b"a,b\n1,3\n")

    target = tmp_path / "target"
    with pytest.raises(DamagedObjectError, match="damaged"):
        download_outputs(storage, digest, target)

    assert not (target / "table.csv").exists()
    assert not [p for p in target.rglob("*") if p.name.endswith(".part")]
    assert storage.read(damaged)  # the undamaged manifest still reads


def damage(storage: Storage, content: bytes, into: bytes) -> str:
    """Overwrite the content ``content`` in place (as bit rot or a careless hand would)."""
    digest = next(d for d in storage.digests() if storage.read(d) == content)
    path = storage.object_path(digest)
    if isinstance(storage.fs, LocalFileSystem):
        Path(path).chmod(0o600)
    storage.fs.pipe_file(path, into)
    return digest


def test_a_refused_content_is_replaced_by_the_next_upload(storage: Storage, tmp_path: Path) -> None:
    """Damaged without changing its size, a content passes the upload's size look; a read
    refuses it and notes so; the next upload of the same outputs checks it by digest and
    replaces it, and the outputs download whole again."""
    data = outputs(tmp_path)
    digest = upload_outputs(storage, data)
    table = damage(storage, b"a,b\n1,2\n", b"a,b\n1,3\n")
    assert upload_outputs(storage, data) == digest  # same size: not noticed yet
    with pytest.raises(DamagedObjectError, match="run the node that made it again"):
        download_outputs(storage, digest, tmp_path / "refused")
    assert storage.refused() == {table}

    assert upload_outputs(storage, data) == digest

    assert storage.read(table) == b"a,b\n1,2\n"
    download_outputs(storage, digest, tmp_path / "back")
    assert fingerprint_outputs(tmp_path / "back") == digest
    assert storage.refused() == set() and storage.incoming() == []


def test_a_content_of_the_wrong_size_is_replaced_without_a_read(
    storage: Storage, tmp_path: Path
) -> None:
    data = outputs(tmp_path)
    digest = upload_outputs(storage, data)
    table = damage(storage, b"a,b\n1,2\n", b"truncated")

    assert storage.put_file(data / "table.csv", table)

    assert storage.read(table) == b"a,b\n1,2\n"
    download_outputs(storage, digest, tmp_path / "back")
    assert storage.incoming() == []


def test_a_note_on_a_whole_content_costs_no_upload(storage: Storage, tmp_path: Path) -> None:
    """A refusal that the content does not bear out (the read, not the content, went wrong):
    the upload checks it, uploads nothing and drops the note."""
    data = outputs(tmp_path)
    upload_outputs(storage, data)
    table = next(d for d in storage.digests() if storage.read(d) == b"a,b\n1,2\n")
    storage.fs.makedirs(f"{storage.root}/damaged", exist_ok=True)
    storage.fs.pipe_file(f"{storage.root}/damaged/{table}", b"")
    assert storage.refused() == {table}

    assert not storage.put_file(data / "table.csv", table, recheck=True)

    assert storage.refused() == set()


def test_code_travels_with_its_lock_into_a_worker_cache(storage: Storage, tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / ".venv" / "bin").mkdir(parents=True)
    (code / ".venv" / "bin" / "python").write_text("not shipped")
    (code / "main.py").write_text("print('hi')\n")
    (code / "uv.lock").write_text("version = 1\n")
    (code / "pyproject.toml").write_text("[project]\nname = 'n'\n")
    cache = ObjectStore(tmp_path / "worker" / "objects")

    digest = upload_code(storage, code)
    download_code(storage, digest, tmp_path / "worker" / "run1" / "code", cache)
    download_code(storage, digest, tmp_path / "worker" / "run2" / "code", cache)

    for run in ("run1", "run2"):
        copy = tmp_path / "worker" / run / "code"
        assert (copy / "main.py").read_text() == "print('hi')\n"
        assert (copy / "uv.lock").read_text() == "version = 1\n"
        assert not (copy / ".venv").exists()
    assert len(list(cache.root.glob("*/*"))) == 3


def test_a_missing_content_is_named(storage: Storage, tmp_path: Path) -> None:
    with pytest.raises(MissingObjectError, match="missing from the storage"):
        download_outputs(storage, "0" * 64, tmp_path / "target")


def test_outputs_with_a_symlink_or_a_hostile_manifest_are_refused(
    storage: Storage, tmp_path: Path
) -> None:
    data = outputs(tmp_path)
    (data / "link").symlink_to("/nonexistent/folder")  # a file link travels as its content
    with pytest.raises(InvalidInputError, match="symbolic link link"):
        upload_outputs(storage, data)

    content, _ = storage.put_bytes(b"evil")
    hostile, _ = storage.put_bytes(f'{{"../escaped":"{content}"}}'.encode())
    with pytest.raises(InvalidInputError, match="not a path inside"):
        download_outputs(storage, hostile, tmp_path / "target")
    assert not (tmp_path / "escaped").exists()


def test_an_upload_cut_short_leaves_no_object(tmp_path: Path) -> None:
    """A put that fails midway (here: the source vanishes) leaves neither object nor upload."""
    storage = Storage.open(str(tmp_path / "bucket"))
    with pytest.raises(FileNotFoundError):
        storage.put_file(tmp_path / "gone", "1" * 64)
    assert list(storage.digests()) == []
    assert storage.incoming() == []


def test_a_relative_folder_is_relative_to_the_workspace(tmp_path: Path) -> None:
    storage = Storage.open("bucket", base=tmp_path)
    storage.put_bytes(b"x")
    assert (tmp_path / "bucket" / "objects").is_dir()
    with pytest.raises(InvalidInputError, match="empty"):
        Storage.open("  ")
