"""`nodepipe demo`: a real pipeline whose two nodes hold numpy 1.x and 2.x side by side.

This test installs numpy from PyPI into the workspace's uv cache (the package registry is
reachable on these machines); everything else in the suite works offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner


def test_demo_builds_runs_and_reruns_only_what_changed(tmp_path: Path, cli: CliRunner) -> None:
    result = cli("demo", str(tmp_path / "demo"))
    assert result.code == 0, result.stderr
    assert "temperature.svg" in result.stdout
    with nodepipe.open(tmp_path / "demo") as ws:
        smooth = json.loads((ws.nodes.path("smooth") / "data" / "about.json").read_text())
        stats = json.loads((ws.nodes.path("stats") / "data" / "summary.json").read_text())
        assert smooth["numpy"] == "1.26.4" and stats["numpy"] == "2.1.3"
        svg = (ws.nodes.path("plot") / "reports" / "temperature.svg").read_text()
        assert svg.startswith("<svg") and "polyline" in svg and str(stats["mean"]) in svg
        states = {s.item.node.tag: s.state.value for s in ws.runs.status("weather").nodes.values()}
        assert set(states.values()) == {"completed"}
    again = cli("demo", str(tmp_path / "demo"))
    assert again.code == 0 and "everything is up to date" in again.stdout
    assert (
        cli("-w", str(tmp_path / "demo"), "node", "params", "smooth", "--set", "window=30").code
        == 0
    )
    plan = cli("-w", str(tmp_path / "demo"), "run", "weather", "--dry-run", "--json").json()
    assert [item["tag"] for item in plan["run"]] == ["smooth", "plot"]
