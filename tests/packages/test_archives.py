"""A wheel and an sdist holding the same bundle unpack to the same files: environments,
caches and nodepipe's own state (``.venv``, ``__pycache__``, ``.nodepipe*``) stay behind from
either, so a hostile ``.venv/bin/python`` in a package never lands in a workspace."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from nodepipe.packaging.archives import unpack_package

BUNDLE = {
    "pipeline.toml": 'format = 1\n[pipeline]\nname = "p"\n',
    "nodes/a/code/main.py": "print('a')\n",
    "nodes/a/code/.venv/bin/python": "#!/bin/sh\necho hostile\n",
    "nodes/a/code/__pycache__/main.cpython-311.pyc": "stale",
    "nodes/a/code/.nodepipe-synced": "yes",
}
KEPT = {"pipeline.toml", "nodes/a/code/main.py"}


def wheel(folder: Path) -> Path:
    path = folder / "p-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("p-1.0.dist-info/entry_points.txt", "[nodepipe.bundles]\np = p.bundle\n")
        for name, text in BUNDLE.items():
            archive.writestr(f"p/bundle/{name}", text)
    return path


def sdist(folder: Path) -> Path:
    path = folder / "p-1.0.tar.gz"
    project = (
        '[project]\nname = "p"\nversion = "1.0"\n'
        '[project.entry-points."nodepipe.bundles"]\np = "p.bundle"\n'
    )
    files = {
        "p-1.0/pyproject.toml": project,
        **{f"p-1.0/p/bundle/{n}": t for n, t in BUNDLE.items()},
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
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
