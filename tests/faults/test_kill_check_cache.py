"""Kill -9 while ``nodepipe status`` writes the node-check cache (``workspace.check_cache``):
the cache file is the previous one, whole, or the new one; the next command shows every edit
made before it, and removes the copy the killed write left beside the file.

The crash point ``check_cache.aside`` is the new cache written beside the file, not yet renamed
over it.
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
from nodepipe.workspace.check_cache import cache_file
from nodepipe.workspace.crash_points import CRASH_ENV
from nodepipe.workspace.file_digests import RACY_WINDOW_NS

CLI = str(Path(sys.executable).parent / "nodepipe")
SETTLE = RACY_WINDOW_NS / 1e9 + 0.5


def status(root: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash is not None:
        env[CRASH_ENV] = crash
    return subprocess.run(
        [CLI, "-w", str(root), "status", "p", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def states(root: Path) -> dict[str, tuple[str, list[str]]]:
    done = status(root)
    assert done.returncode == 0, done.stderr
    return {n["tag"]: (n["state"], n["own_reasons"]) for n in json.loads(done.stdout)["nodes"]}


def test_a_killed_cache_write_loses_nothing(tmp_path: Path) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    ws.shared_envs.new("trivial")
    ws.pipelines.new("p")
    ws.nodes.new_many("p", ["a", "b"], shared_env="trivial")
    for tag in ("a", "b"):
        (ws.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    ws.runs.run(RunRequest("p"))
    root, file = ws.root, cache_file(ws.context.layout.state_dir)
    a_main = ws.nodes.path("a") / "code" / "main.py"
    ws.close()

    time.sleep(SETTLE)  # what the run wrote settles: a status keeps the checks
    first = status(root, "check_cache.aside")  # the very first write, killed
    assert first.returncode == -9
    assert not file.exists()
    assert [p.name for p in file.parent.iterdir()] != []  # the copy it was writing

    assert states(root) == {"a": ("completed", []), "b": ("completed", [])}
    assert [p.name for p in file.parent.iterdir()] == [file.name]
    before = file.read_bytes()

    a_main.write_text("print('edited')\n")
    time.sleep(SETTLE)  # the edit settles: this status keeps its check, and is killed
    assert status(root, "check_cache.aside").returncode == -9
    assert file.read_bytes() == before  # the previous cache, whole
    assert len(list(file.parent.iterdir())) == 2

    assert states(root)["a"] == ("stale", ["code changed: main.py"])
    assert [p.name for p in file.parent.iterdir()] == [file.name]
    assert json.loads(file.read_bytes()) != json.loads(before)
    assert states(root)["a"] == ("stale", ["code changed: main.py"])  # from the new cache
