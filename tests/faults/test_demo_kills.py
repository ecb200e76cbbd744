"""``nodepipe demo`` killed while it builds its pipeline (the first demo fetches numpy twice and
is the command most likely to be interrupted): the next ``demo`` finishes the workspace instead of
running a pipeline with nodes missing, and leaves no unfinished pipeline behind.

Killed at the first node, before any download: the finishing ``demo`` is the one that fetches
numpy (from PyPI, as tests/integration/test_demo.py does)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import nodepipe
from nodepipe.services.demo import DEMO_PIPELINE, UNFINISHED_PIPELINE
from nodepipe.workspace.crash_points import CRASH_ENV

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
KEPT_PIPELINE = f"{DEMO_PIPELINE}-kept"
"""Where an unfinished demo pipeline holding work done by hand is kept aside."""


def demo(root: Path, crash_at: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [NODEPIPE, "demo", str(root)], capture_output=True, text=True, env=env, timeout=600
    )


def test_a_demo_killed_while_building_is_finished_by_the_next(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    killed = demo(root, crash_at="demo.node-made@2")
    assert killed.returncode == -signal.SIGKILL
    with nodepipe.open(root) as ws:
        assert [p.tag for p in ws.pipelines.list()] == [UNFINISHED_PIPELINE]
        assert len(ws.nodes.list(UNFINISHED_PIPELINE)) == 2

    finished = demo(root)
    assert finished.returncode == 0, finished.stderr
    assert "temperature.svg" in finished.stdout
    with nodepipe.open(root) as ws:
        assert [p.tag for p in ws.pipelines.list()] == [DEMO_PIPELINE]
        nodes = ws.nodes.list(DEMO_PIPELINE)
        assert sorted(node.tag for node in nodes) == ["plot", "simulate", "smooth", "stats"]
        states = {
            s.item.node.tag: s.state.value for s in ws.runs.status(DEMO_PIPELINE).nodes.values()
        }
        assert set(states.values()) == {"completed"}
        kept = {path.name for path in (root / "nodes").iterdir()}
        assert kept == {node.id for node in nodes}  # the unfinished pipeline's folders are gone


def test_a_demo_is_not_built_into_a_workspace_of_other_work(tmp_path: Path) -> None:
    root = tmp_path / "lab"
    with nodepipe.init(root) as ws:
        ws.pipelines.new("mine")
    refused = demo(root)
    assert refused.returncode == 4
    assert "without the demo pipeline" in refused.stderr
    with nodepipe.open(root) as ws:
        assert [p.tag for p in ws.pipelines.list()] == ["mine"]


def test_work_added_by_hand_to_an_unfinished_demo_is_kept_aside_not_deleted(
    tmp_path: Path,
) -> None:
    """The next demo deleted the unfinished pipeline with every node in it: a node the user
    had added there by hand, and an edit of the demo's own code, went with it."""
    root = tmp_path / "demo"
    killed = demo(root, crash_at="demo.node-made@2")
    assert killed.returncode == -signal.SIGKILL
    with nodepipe.open(root) as ws:
        mine = ws.nodes.new(UNFINISHED_PIPELINE, "mine")
        simulate = ws.nodes.path("simulate", UNFINISHED_PIPELINE) / "code" / "main.py"
        simulate.write_text(simulate.read_text() + "# my change\n")

    finished = demo(root)
    assert finished.returncode == 0, finished.stderr
    said = " ".join(finished.stderr.split())
    assert f"kept the unfinished demo pipeline as '{KEPT_PIPELINE}', not deleted" in said, said
    assert "node mine added" in said and "simulate: code/main.py edited" in said
    assert f"node params smooth -p {DEMO_PIPELINE} --set window=30" in finished.stdout
    with nodepipe.open(root) as ws:
        assert sorted(p.tag for p in ws.pipelines.list()) == [DEMO_PIPELINE, KEPT_PIPELINE]
        kept = sorted(node.tag for node in ws.nodes.list(KEPT_PIPELINE))
        assert kept == ["mine", "simulate", "smooth"]
        assert (root / "nodes" / mine.id).is_dir()
        assert simulate.read_text().endswith("# my change\n")
        built = sorted(node.tag for node in ws.nodes.list(DEMO_PIPELINE))
        assert built == ["plot", "simulate", "smooth", "stats"]
    again = demo(root)  # the pipeline kept aside is no "other work" refusing the demo
    assert again.returncode == 0 and "everything is up to date" in again.stdout, again.stderr
