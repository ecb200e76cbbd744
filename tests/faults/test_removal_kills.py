"""Kill -9 while ``node rm`` and ``pipeline rm`` delete folders: the next command finishes it.

Both commands commit the rows first, then delete the folders no pipeline shows any more, one
by one. Killed after the first (or every) folder went, the next command (``status`` of
another pipeline) removes what is left of those folders and of the operation; a folder another
pipeline still shows stays whole, its outputs with it; ``doctor`` finds nothing.
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
    """Pipeline ``base``: a → b, and c; pipeline ``keep`` shows a (a reference). All ran."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    for tag in ("a", "b", "c"):
        ws.nodes.new("base", tag)
        (ws.nodes.path(tag) / "code" / "main.py").write_text(
            "import os, pathlib\n"
            "pathlib.Path(os.environ['NODEPIPE_DATA_DIR'], 'out.txt').write_text('made')\n"
        )
    ws.edges.connect("a", "b", pipeline="base")
    ws.pipelines.new("keep")
    ws.node_copies.reference(["a"], into="keep", pipeline="base")
    assert ws.runs.run(RunRequest("base")).finished is not None
    ws.close()
    return root


def folders(root: Path) -> dict[str, Path]:
    listed = nodepipe_cli(root, "node", "list", "--pipeline", "base", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    return {row["tag"]: root / "nodes" / row["id"] for row in rows}


COMMANDS = {
    "node rm": ("node", "rm", "a", "b", "c", "--pipeline", "base", "--yes"),
    "pipeline rm": ("pipeline", "rm", "base", "--yes"),
}


@pytest.mark.parametrize("point", ["folders.deleted-one", "folders.deleted-one@2"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_removal_killed_between_its_folders_is_finished_by_the_next_command(
    template: Path, tmp_path: Path, command: str, point: str
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    before = folders(root)
    kept_output = (before["a"] / "data" / "out.txt").read_bytes()

    killed = nodepipe_cli(root, *COMMANDS[command], crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    gone = [tag for tag in ("b", "c") if not before[tag].exists()]
    assert gone, "the kill came after a folder was deleted"

    shown = nodepipe_cli(root, "status", "keep", "--json")
    assert shown.returncode == 0, shown.stderr
    assert not before["b"].exists() and not before["c"].exists()
    assert (before["a"] / "data" / "out.txt").read_bytes() == kept_output
    assert sorted(p.name for p in (root / "nodes").iterdir()) == [before["a"].name]
    listed = nodepipe_cli(root, "node", "list", "--json")
    assert [row["tag"] for row in json.loads(listed.stdout)] == ["a"]
    doctor = nodepipe_cli(root, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
