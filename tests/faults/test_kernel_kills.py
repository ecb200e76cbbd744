"""Kill -9 in ``nodepipe env kernel`` while it writes the Jupyter kernel spec (outside the
workspace, in ``$JUPYTER_DATA_DIR/kernels/nodepipe-<id>``).

The spec is replaced all at once: killed before the rename, the previous ``kernel.json`` is
there whole, byte for byte (before, the file was truncated and then written in place: a kill
between left a spec Jupyter cannot read). The next ``env kernel`` writes the new one and
removes the temporary file the kill left, once it is a minute old.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

import nodepipe
from support.cli_process import nodepipe_process


def test_a_kernel_spec_replaced_by_a_killed_command_stays_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    root = tmp_path / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("main")
    node = ws.nodes.new("main", "clean")
    ws.close()
    made = nodepipe_process(root, "env", "kernel", "clean", "-p", "main")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "jupyter" / "kernels" / f"nodepipe-{node.id}"
    before = (folder / "kernel.json").read_bytes()
    assert nodepipe_process(root, "node", "rename", "clean", "tidy", "-p", "main").returncode == 0

    killed = nodepipe_process(
        root, "env", "kernel", "tidy", "-p", "main", crash_at="aside-written.json"
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (folder / "kernel.json").read_bytes() == before
    (left,) = folder.glob(".kernel.json.*.tmp")
    two_minutes_ago = time.time() - 120
    os.utime(left, (two_minutes_ago, two_minutes_ago))

    again = nodepipe_process(root, "env", "kernel", "tidy", "-p", "main")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["kernel.json"]
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["display_name"] == f"nodepipe: tidy ({node.id})"
