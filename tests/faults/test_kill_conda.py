"""Kill -9 while changing a node's conda packages: `env conda add` leaves the old request, lock
and prefix or the new ones, never a mix, and nothing half-built beside them.

Each change runs as a real ``nodepipe`` process on a copy of one workspace (node ``b`` holds
hello-tool 1.0 from a local channel) and is killed at each crash point on its path (also once
a package is unpacked, before it is in its place in the package cache) and at seeded random
moments. The next command settles what was left; a run then uses a prefix that matches the
lock (rebuilt from it if the kill left it behind).
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import nodepipe
from faults.test_kill_anywhere import NODEPIPE, kill_at_random, next_command, start
from support.conda_channel import conda_channel

RANDOM_KILLS = 4
POINTS = ("edit.saved", "conda.unpacked", "conda.built", "conda.swapping", "edit.edited")
RUNS_TOOL = """\
import subprocess, nodepipe_node as node
said = subprocess.run(["hello-tool"], capture_output=True, text=True, check=True).stdout
(node.data_dir() / "tool.txt").write_text(said.strip())
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the workspace, the channel): pipeline ``base`` with node ``b`` on hello-tool 1.0."""
    channel = conda_channel(tmp_path_factory.mktemp("conda"))
    root = tmp_path_factory.mktemp("template") / "lab"
    with nodepipe.init(root) as ws:
        ws.pipelines.new("base")
        ws.nodes.new("base", "b")
        (ws.nodes.path("b") / "code" / "main.py").write_text(RUNS_TOOL)
        ws.conda.add("b", ["hello-tool 1.0.*"], [str(channel)])
    return root, channel


def check_invariants(root: Path, template: Path) -> None:
    assert list((root / ".nodepipe" / "staging").iterdir()) == [], "journal leftovers"
    cache = root / ".nodepipe" / "conda-pkgs"
    assert not list(cache.glob(".nodepipe-unpacking-*")), "a half-unpacked package left"
    with nodepipe.open(root) as ws:
        code = ws.nodes.path("b") / "code"
        old = template / "nodes" / code.parent.name / "code"
        assert not [p for p in code.iterdir() if p.name.startswith(".conda.")], "leftovers"
        files = {n: (code / n).read_bytes() for n in ("pyproject.toml", "conda.lock")}
        was = {n: (old / n).read_bytes() for n in files}
        new = b"hello-tool-2.0-0.conda" in files["conda.lock"]
        assert files == was or (new and b"hello-tool 2.0.*" in files["pyproject.toml"]), "a mix"
        if ws.context.environments.conda.is_current(code):  # a trusted prefix matches its lock
            tool = subprocess.run(
                [str(code / ".conda" / "bin" / "hello-tool")], capture_output=True, text=True
            ).stdout
            assert tool.strip() == ("hello-tool 2.0" if new else "hello-tool 1.0")
    ran = subprocess.run(
        [NODEPIPE, "-w", str(root), "run", "base"], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    said = (root / "nodes" / code.parent.name / "data" / "tool.txt").read_text()
    assert said == ("hello-tool 2.0" if new else "hello-tool 1.0"), "the run used another prefix"


def test_a_kill_during_a_conda_change_leaves_the_old_or_the_new_never_half(
    template: tuple[Path, Path], tmp_path: Path
) -> None:
    source, _ = template
    argv = ("env", "conda", "add", "b", "hello-tool 2.0.*")
    generator = random.Random("nodepipe-conda-add")
    killed = 0
    for attempt, point in enumerate([*POINTS, *[None] * RANDOM_KILLS]):
        root = tmp_path / f"attempt{attempt}" / "lab"
        shutil.copytree(source, root, symlinks=True)
        if point is not None:
            process = start(root, argv, {"NODEPIPE_CRASH_AT": point})
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == -signal.SIGKILL, f"{point} not reached: {stderr!r}"
            killed += 1
        else:
            killed += kill_at_random(start(root, argv, {}), generator.uniform(0.05, 1.5))
        next_command(root, {})
        check_invariants(root, source)
        shutil.rmtree(root)
    print(f"\nconda add: {killed} kills, all left the old state or the new one")
    assert killed >= len(POINTS)
