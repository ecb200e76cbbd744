"""The demo workspace: a small real pipeline, two nodes pinned to different numpy versions.

```
simulate ─┬─> smooth (numpy 1.26) ─┐
          └─> stats  (numpy 2.1)  ─┴─> plot  → reports/temperature.svg
```

Building it fetches numpy twice and takes a while, so a first ``demo`` is the command most
likely to be interrupted (Ctrl-C, a download that fails). The pipeline is therefore built under
a tag of its own and renamed to ``weather`` only once whole; the next ``demo`` removes an
unfinished one and builds it again (the workspace itself is finished by ``Workspace.init``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nodepipe.domain.errors import ConflictError
from nodepipe.services.workspace import Workspace
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.node_project import set_dependencies

DEMO_PIPELINE = "weather"
DEMO_PROJECT = "demo"
UNFINISHED_PIPELINE = f"{DEMO_PIPELINE}-unfinished"
"""The demo pipeline's tag while it is built: a demo cut short leaves only this one."""
DEMO_NODES: dict[str, list[str]] = {
    "simulate": [],
    "smooth": ["numpy==1.26.4"],
    "stats": ["numpy==2.1.3"],
    "plot": [],
}
DEMO_EDGES = (("simulate", "smooth"), ("simulate", "stats"), ("smooth", "plot"), ("stats", "plot"))


def node_code(tag: str) -> str:
    return resources.files("nodepipe.services.demo_nodes").joinpath(f"{tag}.py.txt").read_text()


def demo_state(ws: Workspace) -> str:
    """``"built"`` (the demo pipeline is there), ``"to-build"`` (a workspace holding no pipeline
    but an unfinished demo: made by a ``demo`` cut short, or new) or ``"other"`` (a workspace
    of other work, which the demo leaves alone)."""
    tags = {pipeline.tag for pipeline in ws.pipelines.list()}
    if DEMO_PIPELINE in tags:
        return "built"
    return "to-build" if tags <= {UNFINISHED_PIPELINE} else "other"


def build_demo(ws: Workspace) -> None:
    """Build the demo pipeline in ``ws`` (``demo_state`` says ``"to-build"``); nothing runs yet.

    An unfinished demo pipeline is deleted first, with its nodes; the pipeline gets its tag
    ``weather`` in the last step, once its nodes, environments, edges and parameters are all
    there."""
    if demo_state(ws) != "to-build":
        raise ConflictError(
            f"{ws.root} holds other pipelines: the demo needs a workspace of its own"
        )
    if any(pipeline.tag == UNFINISHED_PIPELINE for pipeline in ws.pipelines.list()):
        ws.pipelines.delete(UNFINISHED_PIPELINE)
    if all(project.name != DEMO_PROJECT for project in ws.projects.list()):
        ws.projects.new(DEMO_PROJECT, notes="Created by `nodepipe demo`.")
    ws.pipelines.new(
        UNFINISHED_PIPELINE,
        project=DEMO_PROJECT,
        notes="A year of simulated temperatures, smoothed, summarised and plotted.",
    )
    environments = ws.context.environments
    for tag, requirements in DEMO_NODES.items():
        node = ws.nodes.new(UNFINISHED_PIPELINE, tag)
        crash_point("demo.node-made")
        code = ws.nodes.path(node.id) / "code"
        (code / "main.py").write_text(node_code(tag), encoding="utf-8")
        if requirements:
            set_dependencies(code / "pyproject.toml", requirements)
            environments.lock(code)
            environments.sync(code)
    for parent, child in DEMO_EDGES:
        ws.edges.connect(parent, child, UNFINISHED_PIPELINE)
    ws.nodes.set_params("simulate", ["days=365", "seed=7"])
    ws.nodes.set_params("smooth", ["window=15"])
    ws.pipelines.rename(UNFINISHED_PIPELINE, DEMO_PIPELINE)


def create_demo(root: Path) -> Workspace:
    """Create the demo workspace at ``root`` (a new or empty directory); nothing runs yet."""
    ws = Workspace.init(root)
    build_demo(ws)
    return ws
