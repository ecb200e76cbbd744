"""A bundle as a zip: the same bundle packs to the same bytes; a hostile archive is refused
before anything is written, and nothing is left behind."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from nodepipe.bundles.archive import ArchiveLimits, pack_bundle, unpack_bundle
from nodepipe.bundles.errors import BundleError
from support.bundle_worlds import write_bundle

BUNDLE_TOML = b'format = 1\n[pipeline]\nname = "b"\n'


def packed(folder: Path) -> bytes:
    out = io.BytesIO()
    pack_bundle(folder, out)
    return out.getvalue()


def a_bundle(folder: Path) -> Path:
    write_bundle(folder, "b", {"prep": "print('prep')\n"}, py_dir={"helpers.py": "X = 1\n"})
    code = folder / "nodes" / "prep" / "code"
    (code / ".venv" / "bin").mkdir(parents=True)
    (code / ".venv" / "bin" / "python").write_text("env")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "main.cpython-311.pyc").write_text("cache")
    (code / "run.sh").write_text("#!/bin/sh\n")
    (code / "run.sh").chmod(0o755)
    return folder


def test_the_same_bundle_packs_to_the_same_bytes(tmp_path: Path) -> None:
    folder = a_bundle(tmp_path / "b")
    first = packed(folder)
    os.utime(folder / "pipeline.toml", (1, 1))
    (folder / "lib" / "helpers.py").chmod(0o600)
    assert packed(folder) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == [
            "lib/helpers.py",
            "nodes/prep/code/main.py",
            "nodes/prep/code/run.sh",
            "nodes/prep/code/uv.lock",
            "pipeline.toml",
        ]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_packed_bundle_unpacks_to_the_same_files(tmp_path: Path) -> None:
    folder = a_bundle(tmp_path / "b")
    unpacked = unpack_bundle(io.BytesIO(packed(folder)), tmp_path / "copy")
    assert (unpacked / "nodes/prep/code/main.py").read_text() == "print('prep')\n"
    assert (unpacked / "nodes/prep/code/run.sh").stat().st_mode & 0o777 == 0o755
    assert (unpacked / "lib/helpers.py").stat().st_mode & 0o777 == 0o644
    assert not (unpacked / "nodes/prep/code/.venv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "copy"]


def test_a_bundle_zipped_with_its_folder_is_unpacked_without_it(tmp_path: Path) -> None:
    archive = hostile({"mine/pipeline.toml": BUNDLE_TOML, "mine/nodes/a/code/main.py": b""})
    unpacked = unpack_bundle(archive, tmp_path / "copy")
    assert (unpacked / "pipeline.toml").read_bytes() == BUNDLE_TOML
    assert (unpacked / "nodes/a/code/main.py").exists()


def hostile(members: dict[str, bytes], modes: dict[str, int] | None = None) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if modes and name in modes:
                info.external_attr = modes[name] << 16
            archive.writestr(info, data)
    out.seek(0)
    return out


@pytest.mark.parametrize(
    ("members", "modes", "message"),
    [
        ({"/etc/evil": b""}, None, "'/etc/evil' is refused: it is absolute"),
        ({"../evil": b""}, None, "'../evil' is refused: it leads outside the bundle"),
        ({"a/../../evil": b""}, None, "'a/../../evil' is refused"),
        ({"a/../pipeline.toml": b""}, None, "'a/../pipeline.toml' is refused: it holds an empty"),
        ({"nodes\\..\\..\\evil": b""}, None, "it contains a backslash"),
        ({"C:/evil": b""}, None, "it starts with a drive letter"),
        ({"link": b"/etc/passwd"}, {"link": stat.S_IFLNK | 0o777}, "'link' is a symbolic link"),
        ({"fifo": b""}, {"fifo": stat.S_IFIFO | 0o644}, "'fifo' is not a regular file"),
        (
            {"nodes/a": b"", "nodes/a/main.py": b""},
            None,
            "'nodes/a' both as a file and as a folder",
        ),
        ({"nodes/a/main.py": b""}, None, "holds no pipeline.toml: it is not a bundle"),
        ({"big": bytes(50 * 1024 * 1024)}, None, "refused as a zip bomb"),
    ],
)
def test_a_hostile_archive_is_refused_and_leaves_nothing(
    tmp_path: Path, members: dict[str, bytes], modes: dict[str, int] | None, message: str
) -> None:
    archive = hostile(
        {"pipeline.toml": BUNDLE_TOML, **members} if "no pipeline" not in message else members,
        modes,
    )
    with pytest.raises(BundleError) as caught:
        unpack_bundle(archive, tmp_path / "bundle")
    assert message in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("pipeline.toml", BUNDLE_TOML)
        archive.writestr("pipeline.toml", b'format = 1\n[pipeline]\nname = "other"\n')
    with pytest.raises(BundleError, match=r"holds 'pipeline\.toml' twice"):
        unpack_bundle(out, tmp_path / "bundle")
    assert list(tmp_path.iterdir()) == []


def test_too_many_members_or_bytes_are_refused(tmp_path: Path) -> None:
    members = {"pipeline.toml": BUNDLE_TOML} | {f"f{i}": b"x" * 100 for i in range(20)}
    with pytest.raises(BundleError, match="holds more than 10 members; at most 10"):
        unpack_bundle(hostile(members), tmp_path / "b", ArchiveLimits(max_entries=10))
    with pytest.raises(BundleError, match=r"expands to \d+ bytes; at most 1000"):
        unpack_bundle(hostile(members), tmp_path / "b", ArchiveLimits(max_total_bytes=1000))
    assert list(tmp_path.iterdir()) == []


def test_a_member_larger_than_it_declares_is_refused_while_extracting(tmp_path: Path) -> None:
    archive = hostile({"pipeline.toml": BUNDLE_TOML, "data.bin": b"y" * 4096})
    raw = bytearray(archive.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as reading:
        info = reading.getinfo("data.bin")
    central = raw.rfind(b"PK\x01\x02")  # the last central record: data.bin's
    raw[central + 24 : central + 28] = (16).to_bytes(4, "little")  # uncompressed size: 16
    local = info.header_offset
    raw[local + 22 : local + 26] = (16).to_bytes(4, "little")
    with pytest.raises(BundleError, match=r"data\.bin' is damaged: Bad CRC-32"):
        unpack_bundle(io.BytesIO(bytes(raw)), tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_destination_is_not_touched(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mine").write_text("keep")
    with pytest.raises(BundleError, match="already exists"):
        unpack_bundle(hostile({"pipeline.toml": BUNDLE_TOML}), tmp_path / "b")
    assert (tmp_path / "b" / "mine").read_text() == "keep"


def test_garbage_is_not_a_zip(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a zip archive"):
        unpack_bundle(io.BytesIO(b"not a zip"), tmp_path / "b")
