"""Which folders of a library node's ``code/`` are offered as its packages: never a leftover
beside a snapshot (``.NAME.previous`` of an update killed at its end, ``NAME.undone-…``)."""

from __future__ import annotations

from pathlib import Path

from nodepipe.workspace.external_code import library_packages


def project(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1"\n')
    return folder


def test_leftovers_beside_a_snapshot_are_not_offered(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    snapshots = code / "snapshots"
    project(snapshots / ".mytool.previous", "mytool")  # sorts first
    project(snapshots / "mytool.undone-1a2b3c4d", "mytool")
    current = project(snapshots / "mytool", "mytool")
    assert library_packages(code) == {"mytool": current}
