"""Kill -9 at each step of ``nodepipe node clear-data``: the outputs and the store agree.

``a → b`` both ran. ``node clear-data a`` runs as a real process and is killed at each crash
point on its path. The next command (``status``) settles what was left; then either nothing was
cleared (``a`` and ``b`` completed, ``a``'s outputs whole in ``data/``) or all of it was (``a``
ready with an empty ``data/``, ``b`` stale), never a node recorded completed over outputs that
are gone; no copy of the outputs stays in the node folder, and ``doctor`` finds nothing.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import nodepipe
from nodepipe.services.runs.service import RunRequest
from support.cli_process import nodepipe_process


def nodepipe_cli(root: Path, *argv: str, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    return nodepipe_process(root, *argv, crash_at=crash_at)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pipeline ``base``: a → b, both completed."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.nodes.new("base", "a")
    ws.nodes.new("base", "b")
    ws.edges.connect("a", "b", pipeline="base")
    assert ws.runs.run(RunRequest("base")).finished is not None
    ws.close()
    return root


def states(root: Path) -> dict[str, str]:
    shown = nodepipe_cli(root, "status", "base", "--json")
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    rows = found["nodes"] if isinstance(found, dict) else found
    return {row["tag"]: row["state"] for row in rows}


@pytest.mark.parametrize(
    ("point", "cleared"), [("clear.moved-aside", False), ("clear.committed", True)]
)
def test_a_clear_data_killed_at_each_step_is_whole_or_absent(
    template: Path, tmp_path: Path, point: str, cleared: bool
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    folder = Path(nodepipe_cli(root, "node", "path", "a", "--pipeline", "base").stdout.strip())
    outputs = {p.name: p.read_bytes() for p in (folder / "data").iterdir()}
    assert outputs
    assert states(root) == {"a": "completed", "b": "completed"}

    killed = nodepipe_cli(
        root, "node", "clear-data", "a", "--pipeline", "base", "--yes", crash_at=point
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    found = states(root)
    left = {p.name: p.read_bytes() for p in (folder / "data").iterdir()}
    if cleared:
        assert found == {"a": "ready", "b": "stale"}
        assert left == {}
    else:
        assert found == {"a": "completed", "b": "completed"}
        assert left == outputs
    staging = folder / ".staging"
    assert not (staging.exists() and list(staging.iterdir())), "a copy of the outputs is left"
    doctor = nodepipe_cli(root, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
