"""A node's `params.yaml` or `pyproject.toml` that is a named pipe, a device or a folder is
named for what it is, everywhere, and nothing waits on it.

Before: `status` (pyproject.toml), `node show` and `node params` (params.yaml), and so the
web app's node panel, waited for ever on a named pipe (and read `/dev/zero` for ever); a run
passed a named-pipe params.yaml over and ran the node with no parameters, while `node show`
hung on it. Each command runs as its own process here, with a time limit: a hang fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import nodepipe
from support.cli_process import nodepipe_process
from support.worlds import build_pipeline


def named_pipe(path: Path) -> str:
    os.mkfifo(path)
    return "it is a named pipe, not a regular file"


def endless_device(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return "it is a device, not a regular file"


def folder(path: Path) -> str:
    path.mkdir()
    return "it is a folder, not a regular file"


KINDS: dict[str, Callable[[Path], str]] = {
    "named-pipe": named_pipe,
    "dev-zero": endless_device,
    "folder": folder,
}


def nodepipe_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return nodepipe_process(root, *args, timeout=60)


@pytest.fixture
def single(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    build_pipeline(lab, "single", {"a": []})
    return lab


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", ["params.yaml", "pyproject.toml"])
def test_a_file_that_is_not_one_is_named_and_nothing_waits(
    single: nodepipe.Workspace, name: str, kind: str
) -> None:
    path = single.nodes.path("a") / "code" / name
    path.unlink()
    said = f"cannot read {path}: {KINDS[kind](path)}"
    status = nodepipe_cli(single.root, "status", "single", "--json")
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)["nodes"]
    assert (shown["state"], shown["reasons"]) == ("failed", [said])
    show = nodepipe_cli(single.root, "node", "show", "a")
    assert said in show.stdout + show.stderr
    assert "shared environment" not in show.stdout  # its environment is not known
    run = nodepipe_cli(single.root, "run", "single")
    assert run.returncode == 8, run.stderr
    assert said in run.stdout + run.stderr
    if name == "params.yaml":
        params = nodepipe_cli(single.root, "node", "params", "a")
        assert params.returncode == 2 and said in params.stderr, params.stderr
