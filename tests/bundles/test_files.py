"""A bundle's files: read and copied inside the bundle only; .venv and caches never travel."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from nodepipe.bundles import files as bundle_files
from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.files import FsspecBundleFiles
from nodepipe.bundles.loaders import FileLoader
from nodepipe.bundles.model import BundleLocation
from support.bundle_worlds import write_bundle


def a_bundle_with_clutter(folder: Path) -> Path:
    write_bundle(folder, "clutter", {"prep": "print('prep')\n"})
    code = folder / "nodes" / "prep" / "code"
    for junk in (".venv/bin/python", "__pycache__/main.cpython-311.pyc", ".nodepipe-stage/x"):
        (code / junk).parent.mkdir(parents=True, exist_ok=True)
        (code / junk).write_text("junk")
    (code / "main.pyc").write_text("junk")
    (code / "pkg").mkdir()
    (code / "pkg" / "util.py").write_text("X = 1\n")
    (code / "alias.py").symlink_to("pkg/util.py")
    return folder


def test_copy_tree_copies_regular_files_and_leaves_venv_and_caches(tmp_path: Path) -> None:
    files = FileLoader().open(a_bundle_with_clutter(tmp_path / "b"))
    assert files is not None
    assert files.files("nodes/prep/code") == ("alias.py", "main.py", "pkg/util.py", "uv.lock")
    files.copy_tree("nodes/prep/code", tmp_path / "copy")
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["alias.py", "main.py", "pkg", "pkg/util.py", "uv.lock"]
    assert not (tmp_path / "copy" / "alias.py").is_symlink()
    assert (tmp_path / "copy" / "alias.py").read_text() == "X = 1\n"


def test_a_link_leading_outside_the_bundle_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    bundle = a_bundle_with_clutter(tmp_path / "b")
    (bundle / "nodes" / "prep" / "code" / "zz-secret.txt").symlink_to(secret)
    files = FileLoader().open(bundle)
    assert files is not None
    with pytest.raises(BundleError, match=r"zz-secret.txt is a link to .*outside the bundle"):
        files.copy_tree("nodes/prep/code", tmp_path / "copy")
    assert not (tmp_path / "copy").exists()
    with pytest.raises(BundleError, match="leads outside the bundle"):
        files.read_bytes("nodes/prep/code/zz-secret.txt")


@pytest.mark.parametrize("relative", ["../secret.txt", "/etc/passwd", "nodes\\prep", "C:/x"])
def test_reading_outside_the_bundle_is_refused(tmp_path: Path, relative: str) -> None:
    (tmp_path / "secret.txt").write_text("password")
    files = FileLoader().open(write_bundle(tmp_path / "b", "b", {"prep": ""}))
    assert files is not None
    with pytest.raises(BundleError, match="is not a path inside the bundle"):
        files.read_bytes(relative)
    assert not files.exists(relative)


def test_copy_tree_refuses_an_existing_destination(tmp_path: Path) -> None:
    files = FileLoader().open(write_bundle(tmp_path / "b", "b", {"prep": ""}))
    assert files is not None
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "mine.txt").write_text("keep")
    with pytest.raises(BundleError, match="already exists"):
        files.copy_tree("nodes/prep/code", tmp_path / "copy")
    assert (tmp_path / "copy" / "mine.txt").read_text() == "keep"


def test_fsspec_files_list_read_and_copy_like_local_ones(tmp_path: Path) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe(
        {
            "/files-test/b/pipeline.toml": b'format = 1\n[pipeline]\nname = "b"\n',
            "/files-test/b/nodes/prep/code/main.py": b"print(1)\n",
            "/files-test/b/nodes/prep/code/__pycache__/main.pyc": b"junk",
        }
    )
    try:
        files = FsspecBundleFiles(fs, "/files-test/b", BundleLocation("fsspec", "memory://x"))
        assert files.files("nodes/prep/code") == ("main.py",)
        assert files.read_bytes("nodes/prep/code/main.py") == b"print(1)\n"
        assert files.exists("pipeline.toml") and not files.exists("../b/pipeline.toml")
        files.copy_tree("nodes/prep", tmp_path / "copy")
        assert [p.name for p in (tmp_path / "copy").rglob("*") if p.is_file()] == ["main.py"]
        with pytest.raises(BundleError, match="no file 'nodes/nope'"):
            files.read_bytes("nodes/nope")
    finally:
        fs.rm("/files-test", recursive=True)


def test_a_folder_at_a_url_larger_than_the_limit_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "lib" / "nodes" / "prep" / "code"
    code.mkdir(parents=True)
    (code / "main.py").write_bytes(b"#" * (3 * 1024 * 1024))  # a server sending on and on
    fs = fsspec.filesystem("dir", path=str(tmp_path / "lib"), target_protocol="file")
    files = FsspecBundleFiles(fs, "", BundleLocation("fsspec", "dir://lib"))
    monkeypatch.setattr(bundle_files, "MAX_TREE_BYTES", 1024 * 1024, raising=False)
    target = tmp_path / "copy"
    with pytest.raises(BundleError, match="holds more than 1048576 bytes"):
        files.copy_tree("nodes/prep/code", target)
    assert not target.exists()
