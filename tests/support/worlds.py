"""Test worlds built from dicts: each node's tag with its parents, in slot order.

    {"load": [], "clean": ["load"], "plot": ["clean"]}

is the chain load → clean → plot: ``clean``'s input ``01`` is ``load``. A node may be a
``NodeSpec`` instead of a list, to name its slots or give it parameters or code. The shapes
tests share have names: ``CHAIN``, ``FAN_OUT``, ``FAN_IN``, ``DIAMOND``, ``FAN_OUT_FAN_IN``
(``SHAPES`` by name); pure tests read the same dicts (``edges_of``), and ``build_pipeline``
makes one a real pipeline of real node folders in a workspace.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nodepipe
from nodepipe.domain.model import Edge, Node
from nodepipe.domain.runs import NodeRun
from nodepipe.live.canvas import CanvasService


@dataclass(frozen=True)
class NodeSpec:
    """A node of a spec with more than its parents."""

    parents: Sequence[str] = ()
    slots: Sequence[str] = ()
    """The slot of each parent, in the same order; ``01``, ``02``… when left out."""
    params: Sequence[str] = ()
    """``name=value`` assignments, as ``nodepipe node params`` takes them."""
    code: str | None = None
    """The text of ``code/main.py``, if not the template's."""


Spec = Mapping[str, Sequence[str] | NodeSpec]
"""Each node's tag, with its parents (or a ``NodeSpec``), in creation order."""

CHAIN: dict[str, list[str]] = {"load": [], "clean": ["load"], "plot": ["clean"]}
FAN_OUT: dict[str, list[str]] = {"src": [], "w1": ["src"], "w2": ["src"], "w3": ["src"]}
FAN_IN: dict[str, list[str]] = {"w1": [], "w2": [], "w3": [], "merge": ["w1", "w2", "w3"]}
DIAMOND: dict[str, list[str]] = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
FAN_OUT_FAN_IN: dict[str, list[str]] = {
    "src": [],
    **{f"w{i}": ["src"] for i in range(1, 5)},
    "merge": [f"w{i}" for i in range(1, 5)],
}
SHAPES: dict[str, dict[str, list[str]]] = {
    "chain": CHAIN,
    "fan_out": FAN_OUT,
    "fan_in": FAN_IN,
    "diamond": DIAMOND,
    "fan_out_fan_in": FAN_OUT_FAN_IN,
}
"""The named shapes; copy one (``dict(...)``) before changing it."""


def node_spec(entry: Sequence[str] | NodeSpec) -> NodeSpec:
    return entry if isinstance(entry, NodeSpec) else NodeSpec(parents=tuple(entry))


def inputs_of(entry: Sequence[str] | NodeSpec) -> list[tuple[str, str]]:
    """(parent, slot) of each input of a node, in slot order."""
    spec = node_spec(entry)
    slots = list(spec.slots) or [f"{index:02d}" for index in range(1, len(spec.parents) + 1)]
    assert len(slots) == len(spec.parents), f"{len(spec.parents)} parents, {len(slots)} slots"
    return list(zip(spec.parents, slots, strict=True))


def edges_of(spec: Spec) -> list[Edge]:
    """The edges of ``spec`` between tags (ids are the tags), for the pure functions' tests."""
    return [
        Edge(parent, child, slot)
        for child, entry in spec.items()
        for parent, slot in inputs_of(entry)
    ]


def add_nodes(ws: nodepipe.Workspace, pipeline: str, spec: Spec) -> dict[str, Node]:
    """Create ``spec``'s nodes in ``pipeline``, then connect them; return the nodes by tag."""
    made = {tag: ws.nodes.new(pipeline, tag) for tag in spec}
    for tag, entry in spec.items():
        details = node_spec(entry)
        if details.code is not None:
            (ws.nodes.path(tag, pipeline) / "code" / "main.py").write_text(details.code)
        if details.params:
            ws.nodes.set_params(tag, list(details.params), pipeline=pipeline)
    for tag, entry in spec.items():
        for parent, slot in inputs_of(entry):
            ws.edges.connect(parent, tag, pipeline, slot)
    return made


def build_pipeline(
    ws: nodepipe.Workspace, pipeline: str, spec: Spec, project: str | None = None
) -> dict[str, Node]:
    """A new pipeline ``pipeline`` made of ``spec`` (in ``project``, created if missing)."""
    if project is not None and project not in {known.name for known in ws.projects.list()}:
        ws.projects.new(project)
    ws.pipelines.new(pipeline, project=project)
    return add_nodes(ws, pipeline, spec)


def write_main(ws: nodepipe.Workspace, tag: str, body: str) -> Path:
    """Give node ``tag`` a main.py (the helper import included, ``body`` dedented); returns
    the node folder."""
    folder = ws.nodes.path(tag)
    code = "import nodepipe_node as node\n" + textwrap.dedent(body)
    (folder / "code" / "main.py").write_text(code, encoding="utf-8")
    return folder


def node_runs(ws: nodepipe.Workspace, run_id: str) -> dict[str, NodeRun]:
    """The node runs of run ``run_id`` by their node's tag."""
    with ws.context.store.read() as session:
        tags = {n.id: n.tag for n in session.list_nodes()}
        return {tags[nr.node_id]: nr for nr in session.node_runs_of_run(run_id)}


def trivial_tree(ws: nodepipe.Workspace, pipeline: str, count: int) -> list[str]:
    """``count`` trivial nodes (tags n0000, n0001...) in a tree, each node's parent a third of the
    way up, all on one shared environment (hundreds of own environments would only be slow);
    their ids in order. Made 200 at a time (``nodes.new_many``): 10,000 take minutes, not hours."""
    ws.shared_envs.new("tools")
    ids: list[str] = []
    for start in range(0, count, 200):
        tags = [f"n{i:04d}" for i in range(start, min(count, start + 200))]
        for node in ws.nodes.new_many(pipeline, tags, shared_env="tools"):
            (ws.nodes.path(node.id) / "code" / "main.py").write_text("pass\n")
            ids.append(node.id)
    for i, node_id in enumerate(ids[1:], start=1):
        ws.edges.connect(ids[(i - 1) // 3], node_id, pipeline)
    # Laid out as the app would (a column per depth), so opening it runs no auto-layout.
    depth = [0] * len(ids)
    rows: dict[int, int] = {}
    positions: dict[str, tuple[float, float]] = {}
    for i, node_id in enumerate(ids):
        depth[i] = depth[(i - 1) // 3] + 1 if i else 0
        row = rows[depth[i]] = rows.get(depth[i], -1) + 1
        positions[node_id] = (depth[i] * 290.0, row * 92.0)
    CanvasService(ws.context).place_many(pipeline, positions)
    return ids


STUBBORN_CHILD_OF_A_SHORT_NODE = """
import os, subprocess, time
child = subprocess.Popen(["bash", "-c", "trap '' TERM; sleep 300"])  # the node dies on SIGTERM
time.sleep(0.5)  # the trap is set
(node.data_dir() / "out.txt").write_text("half-written")
(node.reports_dir() / "pids.tmp").write_text(f"{os.getpid()} {child.pid}")
(node.reports_dir() / "pids.tmp").rename(node.reports_dir() / "pids")
time.sleep(20)  # not stopped, it ends well (exit 0) and leaves its child running
"""
"""The code of a node (written with ``write_main``) that starts a child ignoring SIGTERM, writes
a half output and its and its child's pids (``reports/pids``), then would end well after 20 s:
what a cancel must stop whole, its output never landing."""
