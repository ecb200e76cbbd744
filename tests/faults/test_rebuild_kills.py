"""Kill -9 at each step of ``nodepipe doctor --rebuild``: the job can be finished.

``load → clean → plot`` ran, then the store was lost. ``doctor --rebuild`` runs as a real
process and is killed after moving the damaged store aside, after making the new store, and
just before its adoption of the node folders commits. Then a second ``--rebuild`` (or, once the
new store exists, ``doctor --repair``) must leave the workspace as an uninterrupted rebuild
does: the same nodes, edges and states in the pipeline ``recovered``, and nothing more for
``doctor`` to find. (Before, a rebuild killed after making the new store left an empty store
that opens, and a second ``--rebuild`` refused it.)
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from nodepipe.services.runs.service import RunRequest
from support.cli_process import nodepipe_process
from support.worlds import CHAIN, build_pipeline


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``load → clean → plot`` ran, then its store was deleted."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    build_pipeline(ws, "base", CHAIN)
    assert ws.runs.run(RunRequest("base")).finished is not None
    ws.close()
    for file in (root / ".nodepipe").glob("store.sqlite*"):
        file.unlink()
    return root


def recovered(root: Path) -> dict[str, Any]:
    """What the pipeline ``recovered`` holds: tags, edges (by tag) and states."""
    shown = nodepipe_process(root, "pipeline", "show", "recovered", "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    tags = {node["id"]: node["tag"] for node in view["nodes"]}
    listed = nodepipe_process(root, "node", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {
        "tags": tags,
        "edges": sorted(
            (tags[e["parent_id"]], tags[e["child_id"]], e["slot"]) for e in view["edges"]
        ),
        "states": sorted(
            (n["tag"], n["state"], n["state_reason"]) for n in json.loads(listed.stdout)
        ),
        "pipelines": sorted(
            p["tag"]
            for p in json.loads(nodepipe_process(root, "pipeline", "list", "--json").stdout)
        ),
    }


@pytest.fixture(scope="module")
def uninterrupted(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("uninterrupted") / "lab"
    shutil.copytree(template, root, symlinks=True)
    rebuilt = nodepipe_process(root, "doctor", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    found = recovered(root)
    assert len(found["tags"]) == 3 and len(found["edges"]) == 2
    return found


@pytest.mark.parametrize(
    ("point", "finish"),
    [
        ("rebuild.moved-aside", "--rebuild"),
        ("rebuild.created", "--rebuild"),
        ("adoption.recorded", "--rebuild"),
        ("adoption.recorded", "--repair"),
    ],
)
def test_a_rebuild_killed_at_each_step_is_finished_as_an_uninterrupted_one(
    template: Path, uninterrupted: dict[str, Any], tmp_path: Path, point: str, finish: str
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)

    killed = nodepipe_process(root, "doctor", "--rebuild", crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # other commands opened the empty new store as an empty workspace; they refuse it now
    for command in (["status", "base"], ["pipeline", "list"]):
        refused = nodepipe_process(root, *command)
        said = " ".join(refused.stderr.split())
        assert refused.returncode != 0 and "was cut short" in said, (command, said)
        assert "`nodepipe doctor --rebuild`" in said, said
    if point != "rebuild.moved-aside":  # the new store is there: doctor opens it, and warns
        doctor = nodepipe_process(root, "doctor")
        assert "a `nodepipe doctor --rebuild` was cut short" in " ".join(doctor.stderr.split())
    looked = nodepipe_process(root, "doctor", "--rebuild", "--dry-run")
    assert looked.returncode == 0, looked.stderr
    made = "make a new store" if point == "rebuild.moved-aside" else "finish this store"
    assert f"--rebuild would {made} and recover 3 node folders" in looked.stdout

    finished = nodepipe_process(root, "doctor", finish)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert recovered(root) == uninterrupted
    doctor = nodepipe_process(root, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    assert [c for c in json.loads(doctor.stdout)["categories"] if c["count"]] == []
    again = nodepipe_process(root, "doctor", "--rebuild")
    assert again.returncode != 0 and "opens fine" in again.stderr
