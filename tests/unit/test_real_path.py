"""An interpreter's real path, as a run records it, follows its links as they are now."""

from __future__ import annotations

import os
from pathlib import Path

from nodepipe.workspace.file_state import real_path


def _interpreter(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    return path


def test_a_venv_python_resolves_as_realpath_does_and_follows_a_link_moved_meanwhile(
    tmp_path: Path,
) -> None:
    first = _interpreter(tmp_path / "versions" / "3.11.7" / "bin" / "python3.11")
    second = _interpreter(tmp_path / "versions" / "3.11.9" / "bin" / "python3.11")
    current = tmp_path / "versions" / "current"
    current.symlink_to(first.parent.parent)
    python = tmp_path / "node" / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(current / "bin" / "python3.11")  # absolute, through a folder link

    assert real_path(str(python)) == os.path.realpath(python) == str(first)
    assert real_path(str(python)) == str(first)  # answered again from what it remembers
    current.unlink()
    current.symlink_to(second.parent.parent)  # the interpreter upgraded under the link
    assert real_path(str(python)) == os.path.realpath(python) == str(second)
    first.unlink()
    first.parent.parent.parent.joinpath("3.11.7").rename(tmp_path / "gone")
    assert real_path(str(python)) == str(second)


def test_other_paths_resolve_as_realpath_does(tmp_path: Path) -> None:
    target = _interpreter(tmp_path / "bin" / "python3")
    relative = tmp_path / "bin" / "python"
    relative.symlink_to("python3")
    missing = tmp_path / "nowhere" / "python"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "absent")
    for path in (target, relative, missing, dangling):
        assert real_path(str(path)) == os.path.realpath(path)
