"""A wheel and an sdist holding the same bundle unpack to the same files: environments,
caches and nodepipe's own state (``.venv``, ``__pycache__``, ``.nodepipe*``) stay behind from
either, so a hostile ``.venv/bin/python`` in a package never lands in a workspace."""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nodepipe.bundles.archive import ArchiveLimits
from nodepipe.packaging.archives import unpack_package
from nodepipe.packaging.errors import PackageError

BUNDLE = {
    "pipeline.toml": 'format = 1\n[pipeline]\nname = "p"\n',
    "nodes/a/code/main.py": "print('a')\n",
    "nodes/a/code/.venv/bin/python": "#!/bin/sh\necho hostile\n",
    "nodes/a/code/__pycache__/main.cpython-311.pyc": "stale",
    "nodes/a/code/.nodepipe-synced": "yes",
}
KEPT = {"pipeline.toml", "nodes/a/code/main.py"}


def wheel(folder: Path, extra: dict[str, bytes] | None = None) -> Path:
    path = folder / "p-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("p-1.0.dist-info/entry_points.txt", "[nodepipe.bundles]\np = p.bundle\n")
        for name, data in {**BUNDLE, **(extra or {})}.items():
            archive.writestr(f"p/bundle/{name}", data)
    return path


def sdist(folder: Path, extra: dict[str, bytes] | None = None) -> Path:
    path = folder / "p-1.0.tar.gz"
    project = (
        '[project]\nname = "p"\nversion = "1.0"\n'
        '[project.entry-points."nodepipe.bundles"]\np = "p.bundle"\n'
    )
    files = {
        "p-1.0/pyproject.toml": project,
        **{f"p-1.0/p/bundle/{n}": t for n, t in {**BUNDLE, **(extra or {})}.items()},
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text if isinstance(text, bytes) else text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def unpacked(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_a_wheel_and_an_sdist_leave_environments_and_caches_behind(tmp_path: Path) -> None:
    from_wheel, from_sdist = tmp_path / "from-wheel", tmp_path / "from-sdist"
    unpack_package(wheel(tmp_path), from_wheel)
    unpack_package(sdist(tmp_path), from_sdist)
    assert unpacked(from_wheel) == KEPT
    assert unpacked(from_sdist) == KEPT


@pytest.mark.parametrize("make", [wheel, sdist])
def test_a_package_bomb_is_refused_as_a_wheel_and_as_an_sdist(make: Any, tmp_path: Path) -> None:
    """50 MiB of zeros in the bundle's data packs into a few dozen KiB: a wheel was refused
    as a zip bomb, the same bundle as an sdist unpacked it all (1 GiB of zeros in 4.6 MB made
    a GiB file in a pulled node's folder). Both are refused, nothing left behind."""
    archive = make(tmp_path, {"nodes/a/data/zeros.bin": bytes(50 * 1024 * 1024)})
    assert archive.stat().st_size < 200 * 1024
    with pytest.raises(PackageError, match="refused as a zip bomb"):
        unpack_package(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def many_members(folder: Path, count: int) -> Path:
    """An sdist of ``count`` empty members (the headers written at once: quick to make)."""
    path = folder / "many-1.0.tar.gz"
    headers = b"".join(
        tarfile.TarInfo(f"many-1.0/m{i}").tobuf(tarfile.USTAR_FORMAT) for i in range(count)
    )
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(headers + bytes(1024))
    return path


def test_an_sdist_of_too_many_members_is_refused_without_reading_them_all(
    tmp_path: Path,
) -> None:
    """All the members' headers were read and kept before they were counted: 1,000,000 empty
    members (a 6 MB sdist) took a minute and 500 MB before the refusal (ten times as many, a
    server's memory). Counted as they are read, the refusal comes at the limit."""
    archive = many_members(tmp_path, 50_000)
    tracemalloc.start()
    try:
        with pytest.raises(PackageError, match=r"holds .*members"):
            unpack_package(archive, tmp_path / "out", ArchiveLimits(max_entries=100))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, peak  # reading all 50,000 headers kept ~30 MB
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def many_zip_members(path: Path, count: int, said: int | None = None) -> Path:
    """A zip of ``count`` empty members whose end record says it holds ``said`` (a lie)."""
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(count):
            archive.writestr(f"m{i}", b"")
    if said is not None:
        data = bytearray(path.read_bytes())
        end = data.rfind(b"PK\x05\x06")
        data[end + 8 : end + 12] = said.to_bytes(2, "little") * 2
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("said", [None, 1], ids=["counted", "end-record-says-1"])
def test_a_wheel_of_too_many_members_is_refused_before_zipfile_lists_them(
    tmp_path: Path, said: int | None
) -> None:
    """zipfile made an object for every member of the central directory before the count was
    checked: 50,000 empty members (2.7 MB) kept ~25 MB, a larger upload any amount. Counted
    record by record first (whatever the end record claims), the refusal comes at the limit."""
    archive = many_zip_members(tmp_path / "many-1.0-py3-none-any.whl", 50_000, said)
    tracemalloc.start()
    try:
        with pytest.raises(PackageError) as refused:
            unpack_package(archive, tmp_path / "out", ArchiveLimits(max_entries=100))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, peak  # zipfile's listing of the 50,000 kept ~25 MB
    assert "holds more than 100 members" in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def test_an_sdist_whose_pyproject_nests_too_deeply_is_not_a_package(tmp_path: Path) -> None:
    """Its pyproject.toml is read to find the bundle: 6 KB of nested arrays crashed the pull
    with RecursionError; now it is malformed, refused, nothing left."""
    archive = tmp_path / "p-1.0.tar.gz"
    project = '[project]\nname = "p"\nx = ' + "[" * 3000 + "1" + "]" * 3000 + "\n"
    with tarfile.open(archive, "w:gz") as out:
        info = tarfile.TarInfo("p-1.0/pyproject.toml")
        info.size = len(project)
        out.addfile(info, io.BytesIO(project.encode()))
    with pytest.raises(PackageError, match=r"pyproject\.toml is malformed: values nested too"):
        unpack_package(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def members_as(kind: str, folder: Path, members: list[tuple[str, str]]) -> Path:
    """A wheel or an sdist of package ``p`` holding ``members`` (paths inside ``p/bundle/``)
    as they are listed, a name twice if it is listed twice."""
    top = "p" if kind == "wheel" else "p-1.0/p"
    named = [(f"{top}/bundle/{name}", text) for name, text in members]
    if kind == "wheel":
        path = folder / "p-1.0-py3-none-any.whl"
        with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
            warnings.simplefilter("ignore")  # zipfile warns of the duplicate it is told to write
            archive.writestr(
                "p-1.0.dist-info/entry_points.txt", "[nodepipe.bundles]\np = p.bundle\n"
            )
            for name, text in named:
                archive.writestr(name, text)
        return path
    project = (
        '[project]\nname = "p"\nversion = "1.0"\n'
        '[project.entry-points."nodepipe.bundles"]\np = "p.bundle"\n'
    )
    path = folder / "p-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in [("p-1.0/pyproject.toml", project), *named]:
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
@pytest.mark.parametrize(
    ("members", "said"),
    [
        ([("nodes/a/code/main.py", "1"), ("nodes/a/code/main.py", "2")], "twice"),
        ([("nodes/a", "a file"), ("nodes/a/code/main.py", "2")], "both as a file and as a folder"),
    ],
    ids=["twice", "file-and-folder"],
)
def test_a_name_twice_or_a_file_as_a_folder_is_refused_naming_the_member(
    kind: str, members: list[tuple[str, str]], said: str, tmp_path: Path
) -> None:
    """A wheel said "holds 'x' twice"; an sdist said "not a readable sdist: [Errno 17] File
    exists: '/…/.out.unpacking-1a2b3c4d/…'" (Errno 20, Not a directory, for a file that is
    also a folder), naming nodepipe's scratch folder and not the member. Both name the member
    now, and leave nothing behind."""
    archive = members_as(
        kind, tmp_path, [("pipeline.toml", 'format = 1\n[pipeline]\nname = "p"\n'), *members]
    )
    with pytest.raises(PackageError) as refused:
        unpack_package(archive, tmp_path / "out")
    message = str(refused.value)
    assert message.startswith(f"{archive.name}: the archive holds '"), message
    assert f"nodes/a{'/code/main.py' if said == 'twice' else ''}' {said}" in message
    assert "unpacking" not in message and str(tmp_path) not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]
