"""Where undoing a killed environment edit keeps what it found in the files it put back."""

from __future__ import annotations

from pathlib import Path

from nodepipe.envs.edits import UNDONE_EDITS, _keep_found


def test_a_node_keeps_them_beside_its_code_and_a_shared_environment_inside_its_folder(
    tmp_path: Path,
) -> None:
    code = tmp_path / "node" / "code"
    code.mkdir(parents=True)
    _keep_found(code, "pyproject.toml", b"mine", 0o600)
    (kept,) = (tmp_path / "node" / UNDONE_EDITS).iterdir()
    assert kept.name.startswith("code-pyproject.toml.") and kept.read_bytes() == b"mine"
    assert kept.stat().st_mode & 0o777 == 0o600  # a private file stays private
    shared = tmp_path / "envs" / "trivial"
    shared.mkdir(parents=True)
    _keep_found(shared, "uv.lock", b"lock", 0o644)
    assert [p.parent for p in (shared / UNDONE_EDITS).iterdir()] == [shared / UNDONE_EDITS]
    assert not (tmp_path / "envs" / UNDONE_EDITS).exists()


def test_something_else_at_that_name_keeps_them_beside_the_file_instead(tmp_path: Path) -> None:
    code = tmp_path / "node" / "code"
    code.mkdir(parents=True)
    (tmp_path / "node" / UNDONE_EDITS).write_text("not a folder")
    _keep_found(code, "pyproject.toml", b"mine", 0o644)
    (kept,) = [p for p in code.iterdir() if p.name.startswith("pyproject.toml.undone-")]
    assert kept.read_bytes() == b"mine"
