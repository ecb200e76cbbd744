"""The demo workspace: a small real pipeline, two nodes pinned to different numpy versions.

```
simulate ─┬─> smooth (numpy 1.26) ─┐
          └─> stats  (numpy 2.1)  ─┴─> plot  → reports/temperature.svg
```
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nodepipe.services.workspace import Workspace
from nodepipe.workspace.node_project import set_dependencies

DEMO_PIPELINE = "weather"
DEMO_NODES: dict[str, list[str]] = {
    "simulate": [],
    "smooth": ["numpy==1.26.4"],
    "stats": ["numpy==2.1.3"],
    "plot": [],
}
DEMO_EDGES = (("simulate", "smooth"), ("simulate", "stats"), ("smooth", "plot"), ("stats", "plot"))


def node_code(tag: str) -> str:
    return resources.files("nodepipe.services.demo_nodes").joinpath(f"{tag}.py.txt").read_text()


def create_demo(root: Path) -> Workspace:
    """Create the demo workspace at ``root`` (a new or empty directory); nothing runs yet."""
    ws = Workspace.init(root)
    ws.projects.new("demo", notes="Created by `nodepipe demo`.")
    ws.pipelines.new(
        DEMO_PIPELINE,
        project="demo",
        notes="A year of simulated temperatures, smoothed, summarised and plotted.",
    )
    environments = ws.context.environments
    for tag, requirements in DEMO_NODES.items():
        node = ws.nodes.new(DEMO_PIPELINE, tag)
        code = ws.nodes.path(node.id) / "code"
        (code / "main.py").write_text(node_code(tag), encoding="utf-8")
        if requirements:
            set_dependencies(code / "pyproject.toml", requirements)
            environments.lock(code)
            environments.sync(code)
    for parent, child in DEMO_EDGES:
        ws.edges.connect(parent, child, DEMO_PIPELINE)
    ws.nodes.set_params("simulate", ["days=365", "seed=7"])
    ws.nodes.set_params("smooth", ["window=15"])
    return ws
