"""The issue's command sequence through the real ``nodepipe`` executable, as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nodepipe

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")


def run(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NODEPIPE_WORKSPACE"}
    result = subprocess.run(
        [NODEPIPE, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def show(cwd: Path, pipeline: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run(cwd, "pipeline", "show", pipeline, "--json").stdout)
    return data


def test_command_sequence(tmp_path: Path) -> None:
    run(tmp_path, "init", "./lab")
    lab = tmp_path / "lab"
    sub = lab / "nodes"  # commands work from anywhere inside the workspace, like git
    run(lab, "project", "new", "climate")
    run(lab, "pipeline", "new", "baseline", "--project", "climate")
    for tag in ("load", "clean", "plot"):
        run(sub, "node", "new", "baseline", "--tag", tag)
    assert "as input 01" in run(lab, "connect", "load", "clean", "--pipeline", "baseline").stdout
    run(lab, "connect", "clean", "plot", "--pipeline", "baseline")
    before = show(lab, "baseline")
    refused = run(lab, "connect", "plot", "load", "--pipeline", "baseline", ok=False)
    assert refused.returncode != 0
    assert "plot → load → clean → plot" in refused.stderr
    assert show(lab, "baseline") == before

    table = run(lab, "pipeline", "show", "baseline").stdout
    assert all(tag in table for tag in ("load", "clean", "plot"))
    graph = show(lab, "baseline")
    ids = {n["tag"]: n["id"] for n in graph["nodes"]}
    assert {(e["parent_id"], e["child_id"], e["slot"]) for e in graph["edges"]} == {
        (ids["load"], ids["clean"], "01"),
        (ids["clean"], ids["plot"], "01"),
    }
    clean_path = run(lab, "node", "path", "clean").stdout.strip()
    assert clean_path == str(lab / "nodes" / ids["clean"])

    run(lab, "pipeline", "branch", "baseline", "--from", "clean", "--name", "variant")
    variant = show(lab, "variant")
    assert {(n["tag"], n["reference"]) for n in variant["nodes"]} == {
        ("load", True),
        ("clean", False),
        ("plot", False),
    }
    run(lab, "pipeline", "duplicate", "baseline", "--name", "copy", "--with-data")
    merged = run(lab, "pipeline", "merge", "baseline", "variant", "--name", "both")
    assert "renamed clean of variant → clean-copy (one tag per pipeline)" in merged.stdout
    assert sorted(n["tag"] for n in show(lab, "both")["nodes"]) == [
        "clean",
        "clean-copy",
        "load",
        "plot",
        "plot-copy",
    ]
    run(lab, "project", "new", "other")
    run(lab, "pipeline", "move", "variant", "--project", "other")
    moved = json.loads(run(lab, "project", "show", "other", "--json").stdout)
    assert [p["tag"] for p in moved["pipelines"]] == ["variant"]

    run(lab, "pipeline", "new", "other-pipeline")
    run(lab, "node", "duplicate", "clean", "--pipeline", "baseline", "--into", "other-pipeline")
    ambiguous = run(lab, "node", "path", "clean", ok=False)
    assert ambiguous.returncode == 3 and ids["clean"] in ambiguous.stderr
    # the copy's "load" is another node with a tag other-pipeline already shows (clean's parent)
    clash = run(
        lab, "node", "reference", "load", "--into", "other-pipeline", "--pipeline", "copy", ok=False
    )
    assert clash.returncode == 4 and "already has a node tagged 'load'" in clash.stderr
    run(
        lab,
        "node",
        "reference",
        "load",
        "--into",
        "other-pipeline",
        "--pipeline",
        "copy",
        "--allow-duplicate-tag",
    )
    shown = show(lab, "other-pipeline")
    assert sorted(n["tag"] for n in shown["nodes"]) == ["clean", "load", "load"]
    run(lab, "node", "clear-data", ids["clean"], "--yes")
    run(lab, "node", "rm", "plot", "--pipeline", "baseline", "--yes")
    assert not (lab / "nodes" / ids["plot"]).exists()

    listed = json.loads(run(lab, "pipeline", "list", "--json").stdout)
    assert sorted(p["tag"] for p in listed) == [
        "baseline",
        "both",
        "copy",
        "other-pipeline",
        "variant",
    ]
    with nodepipe.open(lab) as ws:
        assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["clean", "load"]
