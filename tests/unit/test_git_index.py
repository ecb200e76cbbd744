"""A checkout's tracked paths are read from its index as git itself lists them, whatever the
index's version, and an index this module cannot read is listed by git instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nodepipe.workspace.git_index import tracked


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def checkout(folder: Path) -> Path:
    for name in ("pkg/sub/deep_module_with_a_long_name.py", "pkg/__init__.py", "README", "é.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", ".")
    git(folder, "commit", "--quiet", "-m", "first")
    return folder


def listed(folder: Path) -> set[str]:
    return set(git(folder, "-c", "core.quotepath=off", "ls-files").splitlines())


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_every_index_version_lists_what_git_lists(tmp_path: Path, version: str) -> None:
    folder = checkout(tmp_path / "repo")
    git(folder, "update-index", "--index-version", version)
    (folder / "pkg" / "new.py").write_text("x")
    git(folder, "add", "--intent-to-add", "pkg/new.py")  # an extended entry (v3 and up)
    found = tracked(folder)
    assert found.files == listed(folder)
    assert "pkg/new.py" in found.files and "é.txt" in found.files
    assert found.holds("pkg/sub", is_dir=True) and not found.holds("pkg/other", is_dir=True)


def test_a_split_index_and_a_worktree_are_listed_too(tmp_path: Path) -> None:
    folder = checkout(tmp_path / "repo")
    git(folder, "update-index", "--split-index")
    (folder / "later.py").write_text("x")
    git(folder, "add", "later.py")
    assert tracked(folder).files == listed(folder)
    other = tmp_path / "other"
    git(folder, "worktree", "add", "--quiet", str(other))  # its .git is a file naming its index
    assert tracked(other).files == listed(other)


def test_a_folder_that_is_no_checkout_tracks_nothing(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("x")
    assert tracked(tmp_path).files == frozenset()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index").write_bytes(b"not an index")
    assert tracked(tmp_path).files == frozenset()  # git cannot list it either
