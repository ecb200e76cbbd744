"""The demo workspace: a small real pipeline, two nodes pinned to different numpy versions.

```
simulate ─┬─> smooth (numpy 1.26) ─┐
          └─> stats  (numpy 2.1)  ─┴─> plot  → reports/temperature.svg
```

Building it fetches numpy twice and takes a while, so a first ``demo`` is the command most
likely to be interrupted (Ctrl-C, a download that fails). The pipeline is therefore built under
a tag of its own and renamed to ``weather`` only once whole; the next ``demo`` removes an
unfinished one and builds it again (the workspace itself is finished by ``Workspace.init``).

The unfinished pipeline is deleted only when it holds nothing but what ``demo`` made: its
nodes, with the files ``demo`` writes as it wrote them. Work added by hand (a node, an edited
``main.py``, ``params.yaml`` or ``pyproject.toml``, another file, an output) keeps the whole
pipeline: it is renamed aside (``weather-kept``, ``weather-kept-2``...) and ``build_demo`` says
what it kept there and why; the demo is built anew beside it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nodepipe.domain.errors import ConflictError, NodepipeError
from nodepipe.domain.params import Params, parse_params
from nodepipe.services.workspace import Workspace
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.node_folder import ENTRY_POINT, NodeFolder, template_text
from nodepipe.workspace.node_project import dependencies, set_dependencies

DEMO_PIPELINE = "weather"
DEMO_PROJECT = "demo"
UNFINISHED_PIPELINE = f"{DEMO_PIPELINE}-unfinished"
"""The demo pipeline's tag while it is built: a demo cut short leaves only this one."""
KEPT_PIPELINE = f"{DEMO_PIPELINE}-kept"
"""The tag (then ``-2``, ``-3``...) an unfinished demo pipeline holding work done by hand is
renamed to, instead of being deleted."""
DEMO_NODES: dict[str, list[str]] = {
    "simulate": [],
    "smooth": ["numpy==1.26.4"],
    "stats": ["numpy==2.1.3"],
    "plot": [],
}
DEMO_PARAMS: dict[str, Params] = {"simulate": {"days": 365, "seed": 7}, "smooth": {"window": 15}}
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
    others = {tag for tag in tags if not _kept_tag(tag)}
    return "to-build" if others <= {UNFINISHED_PIPELINE} else "other"


def _kept_tag(tag: str) -> bool:
    """``tag`` is one an unfinished demo pipeline was kept aside under (``KEPT_PIPELINE``)."""
    rest = tag.removeprefix(KEPT_PIPELINE)
    return rest != tag and (not rest or (rest[:1] == "-" and rest[1:].isdigit()))


def build_demo(ws: Workspace) -> str | None:
    """Build the demo pipeline in ``ws`` (``demo_state`` says ``"to-build"``); nothing runs yet.

    An unfinished demo pipeline is deleted first, with its nodes, when it holds only what
    ``demo`` made; otherwise it is kept aside under another tag (``KEPT_PIPELINE``) and what
    was kept is returned, said for the user. The pipeline gets its tag ``weather`` in the last
    step, once its nodes, environments, edges and parameters are all there."""
    if demo_state(ws) != "to-build":
        raise ConflictError(
            f"{ws.root} holds other pipelines: the demo needs a workspace of its own"
        )
    kept = None
    if any(pipeline.tag == UNFINISHED_PIPELINE for pipeline in ws.pipelines.list()):
        kept = _put_away_unfinished(ws)
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
    for tag, params in DEMO_PARAMS.items():
        assignments = [f"{name}={value}" for name, value in params.items()]
        ws.nodes.set_params(tag, assignments, pipeline=UNFINISHED_PIPELINE)
    ws.pipelines.rename(UNFINISHED_PIPELINE, DEMO_PIPELINE)
    return kept


def _put_away_unfinished(ws: Workspace) -> str | None:
    """Delete the unfinished demo pipeline when it holds only what ``demo`` made; otherwise
    rename it aside and return what was kept, and why."""
    layout = ws.context.layout
    by_hand = [
        found
        for node in ws.nodes.list(UNFINISHED_PIPELINE)
        if (found := _by_hand(node.tag, layout.node_folder(node.id))) is not None
    ]
    if not by_hand:
        ws.pipelines.delete(UNFINISHED_PIPELINE)
        return None
    tags = {pipeline.tag for pipeline in ws.pipelines.list()}
    aside = next(
        tag
        for tag in (KEPT_PIPELINE, *(f"{KEPT_PIPELINE}-{n}" for n in range(2, len(tags) + 3)))
        if tag not in tags
    )
    ws.pipelines.rename(UNFINISHED_PIPELINE, aside)
    return (
        f"kept the unfinished demo pipeline as {aside!r}, not deleted: it holds work the demo "
        f"did not make ({'; '.join(by_hand)}); delete it yourself when you no longer need it "
        f"(`nodepipe pipeline rm {aside}`)"
    )


def _by_hand(tag: str, folder: NodeFolder) -> str | None:
    """What of node ``tag``'s folder the demo did not make (None: all of it is the demo's):
    a node it does not make, a file it does not write, one it writes edited, an output."""
    if tag not in DEMO_NODES:
        return f"node {tag} added"
    made = {ENTRY_POINT, "pyproject.toml", "uv.lock", folder.params_file.name}
    ignored = {".venv", "__pycache__"}
    for path in sorted(folder.code.iterdir()) if folder.code.is_dir() else []:
        if path.name not in made | ignored:
            return f"{tag}: code/{path.name} added"
    entry = folder.code / ENTRY_POINT
    if _text(entry) not in (template_text("main.py.template"), node_code(tag)):
        return f"{tag}: code/{ENTRY_POINT} edited"
    if _params(folder.params_file) not in ({}, DEMO_PARAMS.get(tag, {})):
        return f"{tag}: {folder.params_file.name} edited"
    try:
        wanted = dependencies(folder.pyproject)
    except (OSError, NodepipeError, ValueError):
        wanted = None
    if wanted not in ([], DEMO_NODES[tag]):
        return f"{tag}: code/pyproject.toml edited"
    for outputs in (folder.data, folder.reports):
        if outputs.is_dir() and any(outputs.iterdir()):
            return f"{tag}: outputs in {outputs.name}/"
    return None


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _params(path: Path) -> Params | None:
    text = _text(path)
    try:
        return parse_params(text) if text is not None else None
    except NodepipeError:
        return None


def create_demo(root: Path) -> Workspace:
    """Create the demo workspace at ``root`` (a new or empty directory); nothing runs yet."""
    ws = Workspace.init(root)
    build_demo(ws)
    return ws
