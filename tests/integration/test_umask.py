"""A user who works with ``umask 077`` keeps every file nodepipe makes for them private.

Files nodepipe writes aside and renames into place (the node's check cache, its last run's
``context.json``, the environment's sync marker, the outputs' intent file), the files it
unpacks from a pulled package (wheel or sdist), the package it builds and a code file the web
app's editor saves set their mode themselves: they must honour the umask as ``open()`` does,
not hand out 0o644 to everyone on the machine. uv's own ``.venv/.lock`` (writable by all, uv's
choice) is the one exception the README names.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.services.runs.service import RunRequest
from support.worlds import CHAIN, build_pipeline


@pytest.fixture
def private_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def open_to_others(root: Path) -> list[str]:
    """Every file or folder under ``root`` that its group or others may use: uv's locks aside,
    and what ``.nodepipe/`` holds (that folder is 0700: its contents are out of reach)."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or (path.name == ".lock" and path.parent.name == ".venv"):
            continue
        if ".nodepipe" in path.relative_to(root).parts[:-1]:
            continue
        if mode & 0o077:
            found.append(f"{stat.S_IMODE(mode):o} {path.relative_to(root)}")
    return sorted(found)


def test_with_umask_077_nothing_nodepipe_makes_in_a_workspace_is_open_to_others(
    private_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    with nodepipe.init(tmp_path / "lab") as ws:
        build_pipeline(ws, "baseline", CHAIN)
        assert ws.runs.run(RunRequest("baseline")).finished.completed == 3
        assert ws.runs.run(RunRequest("baseline", force=True)).finished.completed == 3
        built = ws.packages.build("baseline", destination=tmp_path / "dist", with_data=True)
        ws.packages.pull(str(built.wheel), alias="from-wheel")
        ws.packages.pull(str(built.sdist), alias="from-sdist")
        ws.code_files.write("clean", "helper.py", "X = 1\n", None, pipeline="baseline")
        assert ws.runs.status("from-wheel").nodes  # pulled, with its nodes
        nodes = ws.context.layout.nodes_dir
        assert len(list(nodes.iterdir())) == 9
        assert open_to_others(tmp_path / "lab") == []
        assert open_to_others(tmp_path / "dist") == []  # the built wheel and sdist
