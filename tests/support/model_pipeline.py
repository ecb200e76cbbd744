"""A pipeline that trains a tiny model and predicts with it, for the package tests."""

from __future__ import annotations

import nodepipe
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from support.worlds import NodeSpec, add_nodes

TRAIN = """\
import json
import nodepipe_node as node
xs, ys = [1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 7.0, 9.0]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
model = {"slope": slope, "intercept": my - slope * mx}
(node.data_dir() / "model.json").write_text(json.dumps(model))
"""
"""A node that trains a tiny model (least squares on four points): y = 2x + 1."""

PREDICT = """\
import json
import nodepipe_node as node
model = json.loads((node.parent("01").data_dir / "model.json").read_text())
guesses = [model["slope"] * x + model["intercept"] for x in (10, 20)]
(node.data_dir() / "predictions.json").write_text(json.dumps(guesses))
"""
MODEL = {"train": NodeSpec(code=TRAIN), "predict": NodeSpec(["train"], code=PREDICT)}


def trained_model(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    """Pipeline ``model`` in ``lab``: train → predict, run once."""
    lab.pipelines.new("model", notes="A tiny model\nand its predictions")
    add_nodes(lab, "model", MODEL)
    lab.runs.run(RunRequest("model"))
    return lab


def outputs(ws: nodepipe.Workspace, pipeline: str) -> dict[str, dict[str, str]]:
    """Each node's data files by tag."""
    found = {}
    for item in ws.pipelines.show(pipeline).nodes:
        data = ws.nodes.path(item.node.id) / "data"
        found[item.node.tag] = {p.name: p.read_text() for p in sorted(data.iterdir())}
    return found


def states(ws: nodepipe.Workspace, pipeline: str) -> dict[str, NodeState]:
    return {s.item.node.tag: s.state for s in ws.runs.status(pipeline).nodes.values()}
