"""A full disk: the run stops at once and is settled, the old outputs stay, the user reads a
message and an exit code, never a traceback (issue 10, finding 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, cli  # noqa: F401 (a fixture)
from support.worlds import NodeSpec, build_pipeline

FILL_THE_DISK = """\
import nodepipe_node as node
(node.data_dir() / "out.txt").write_text("new")
try:
    with open(node.data_dir() / "filler.bin", "wb") as filler:
        while True:
            filler.write(b"x" * (1 << 20))
            filler.flush()
except OSError as error:
    print("the disk is full:", error)
"""

WRITE_OUT = """\
import nodepipe_node as node
(node.data_dir() / "out.txt").write_text("old")
"""


@pytest.fixture
def on_small_disk(small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> nodepipe.Workspace:
    """Pipeline ``p``: fill → after, on a 40 MB disk, run once (outputs "old")."""
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(small_disk / "lab")
    monkeypatch.chdir(ws.root)
    spec = {"fill": NodeSpec(code=WRITE_OUT), "after": NodeSpec(["fill"], code=WRITE_OUT)}
    build_pipeline(ws, "p", spec)
    from nodepipe.services.runs.service import RunRequest

    assert ws.runs.run(RunRequest("p")).finished is not None
    return ws


def test_a_full_disk_during_a_run_keeps_the_old_outputs_and_settles_the_run(
    on_small_disk: nodepipe.Workspace,
    cli: CliRunner,  # noqa: F811
) -> None:
    ws = on_small_disk
    (ws.nodes.path("fill") / "code" / "main.py").write_text(FILL_THE_DISK)
    result = cli("run", "p")
    said = result.stdout + result.stderr
    assert result.code in (8, 9), said
    assert "Traceback" not in said
    assert "space" in said.lower() or "logs" in said.lower()
    assert (ws.nodes.path("fill") / "data" / "out.txt").read_text() == "old"
    assert (ws.nodes.path("after") / "data" / "out.txt").read_text() == "old"
    assert not list(ws.nodes.path("fill").glob("data/filler.bin"))
    states = {node["tag"]: node["state"] for node in cli("status", "p", "--json").json()["nodes"]}
    assert states["fill"] == "failed" and states["after"] != "running", states
    [run] = [r for r in cli("runs", "p", "--json").json() if r["status"] != "completed"]
    assert run["status"] in ("failed", "interrupted")
    (ws.nodes.path("fill") / "code" / "main.py").write_text(WRITE_OUT.replace("old", "again"))
    assert cli("run", "p").code == 0  # space is back: all runs again
    assert (ws.nodes.path("after") / "data" / "out.txt").read_text() == "old"
    assert (ws.nodes.path("fill") / "data" / "out.txt").read_text() == "again"
