"""Kill -9 while a run writes the kept facts about its nodes' environments
(``workspace.kept_facts``): the file is the previous one, whole, or the new one; the next run
syncs what changed before it, and the next write removes the copy the killed write left beside
the file.

The crash point ``kept_facts.aside`` is the new file written beside the old one, not yet
renamed over it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nodepipe
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.crash_points import CRASH_ENV
from nodepipe.workspace.file_digests import RACY_WINDOW_NS
from nodepipe.workspace.kept_facts import facts_file

CLI = str(Path(sys.executable).parent / "nodepipe")
SETTLE = RACY_WINDOW_NS / 1e9 + 0.5


def run(root: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash is not None:
        env[CRASH_ENV] = crash
    return subprocess.run(
        [CLI, "-w", str(root), "run", "p", "--force"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )


def test_a_killed_facts_write_loses_nothing(tmp_path: Path) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("p")
    for tag in ("a", "b"):
        ws.nodes.new("p", tag)
        (ws.nodes.path(tag) / "code" / "main.py").write_text("print('ran')\n")
    ws.runs.run(RunRequest("p"))
    root, file = ws.root, facts_file(ws.context.layout.state_dir, ws.nodes.path("a").name)
    kept = {facts_file(ws.context.layout.state_dir, ws.nodes.path(t).name).name for t in "ab"}
    marker = ws.nodes.path("a") / "code" / ".venv" / ".nodepipe-synced"
    ws.close()

    def files() -> tuple[set[str], int]:
        """The facts files, and how many copies killed writes left beside them."""
        names = [p.name for p in file.parent.iterdir() if "facts" in p.name]
        return {n for n in names if n.endswith(".json")}, sum(n.endswith(".tmp") for n in names)

    time.sleep(SETTLE)  # what the run wrote settles: the next run keeps its facts
    first = run(root, "kept_facts.aside")  # the very first write, killed
    assert first.returncode == -9
    assert files() == (set(), 1)  # only the copy it was writing

    assert run(root).returncode == 0
    assert files() == (kept, 0)
    before = file.read_bytes()

    marker.write_text(marker.read_text().replace("\n", "\nchanged\n", 1))  # not in step
    time.sleep(SETTLE)  # the change settles: this run keeps its facts, and is killed
    assert run(root, "kept_facts.aside").returncode == -9
    assert file.read_bytes() == before  # the previous file, whole
    assert files() == (kept, 1)

    time.sleep(SETTLE)  # the marker the killed run wrote again settles
    assert run(root).returncode == 0  # the marker is read again: its new facts kept
    assert files() == (kept, 0)
    assert "changed" not in marker.read_text()
    assert json.loads(file.read_bytes()) != json.loads(before)
