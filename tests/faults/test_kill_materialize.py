"""Kill -9 during a code-first materialise: the pipeline is all of it or none of it.

A real process materialises a pipeline, new (``fresh``) or one that exists (``existing``: it
moves to the project the definition names, its node ``first`` changes code, parameters and
packages, the base gains a package, a node is made, the node ``fifth`` built by hand is taken
over (``adopt``), an edge is moved, a parent no longer declared is disconnected), and is killed
at each step of that path (``NODEPIPE_CRASH_AT``). The next command must then find the
workspace exactly as before, or (killed once all was done) exactly as a materialise that was
never killed leaves it (which nodes are recorded as the materialise's own, and the copies of
adopted code in ``undone-edits/``, included); no node folder without a row, and nothing left
in ``.nodepipe/staging``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from faults.test_kill_anywhere import NODEPIPE
from support.wheels import toy_index

SCRIPT = """\
import sys, nodepipe

root, tag, version = sys.argv[1], sys.argv[2], sys.argv[3]
if version == "1":
    pipe = nodepipe.define(tag)

    @pipe.node(packages={"toypkg": "1.0"}, params={"n": 1})
    def first():
        print("first")

    @pipe.node(parents=["first"])
    def third():
        print("third")

    @pipe.node(parents=["first", "third"])
    def fourth():
        print("fourth")
else:
    pipe = nodepipe.define(tag, project="other", base={"otherpkg": "*"})

    @pipe.node(packages={"toypkg": "2.0"}, params={"n": 2})
    def first():
        print("first, changed")

    @pipe.node(parents=["first"], packages={"toypkg": "1.0"})
    def second():
        print("second")

    @pipe.node(parents=["second"])
    def third():
        print("third")

    @pipe.node(parents=["third"])
    def fourth():
        print("fourth")

    @pipe.node(parents=["fourth"], params={"n": 5})
    def fifth():
        print("fifth, adopted")

with nodepipe.open(root) as ws:
    ws.materialize(pipe, adopt=["fifth"] if version == "2" else [])
"""
EXISTING_POINTS = (
    "materialize.begun",
    "materialize.moved",
    "edit.saved",  # inside the base change
    "materialize.base",
    "folders.moved",  # inside making the new node
    "materialize.nodes",
    "materialize.adopted",
    "edit.edited",  # inside first's package change
    "materialize.node",
    "materialize.node@3",
    "materialize.edge",
    "materialize.edge@2",
    "materialize.edge@3",
    "materialize.done",
)
FRESH_POINTS = (
    "materialize.begun",
    "materialize.pipeline",
    "materialize.base",
    "folders.moved@2",
    "materialize.nodes",
    "materialize.node@2",
    "materialize.edge",
    "materialize.done",
)
KEPT_FILES = ("main.py", "params.yaml", "pyproject.toml", "uv.lock")


def environment(wheels: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env.update(UV_FIND_LINKS=str(wheels), UV_OFFLINE="1", UV_INDEX_URL="http://127.0.0.1:9/simple")
    return env


def materialize(root: Path, tag: str, version: str, env: dict[str, str]) -> int:
    script = root.parent / "materialize_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(root), tag, version],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_index(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """Pipeline ``existing`` materialised once: first (toypkg 1.0) → third; and its node
    ``fifth``, built by hand."""
    root = tmp_path_factory.mktemp("template") / "lab"
    with nodepipe.init(root) as ws:
        ws.projects.new("other")
    assert materialize(root, "existing", "1", environment(wheels)) == 0
    with nodepipe.open(root) as ws:
        ws.nodes.new("existing", "fifth")
        (ws.nodes.path("fifth", pipeline="existing") / "code" / "main.py").write_text("mine\n")
    return root


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, template: Path, wheels: Path) -> Path:
    """The template after a materialise of both pipelines that nobody killed."""
    root = tmp_path_factory.mktemp("finished") / "lab"
    shutil.copytree(template, root, symlinks=True)
    for tag in ("existing", "fresh"):
        assert materialize(root, tag, "2", environment(wheels)) == 0
    return root


def world(root: Path, wheels: Path) -> dict[str, Any]:
    """What the user sees, after the next command settled what a crash left."""
    listed = subprocess.run(
        [NODEPIPE, "-w", str(root), "pipeline", "list", "--json"],
        env=environment(wheels),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert list((root / ".nodepipe" / "staging").iterdir()) == [], "journal leftovers"
    seen: dict[str, Any] = {}
    with nodepipe.open(root) as ws:
        rows = {node.id for node in ws.nodes.list()}
        assert {p.name for p in (root / "nodes").iterdir()} == rows, "folders and rows differ"
        for pipeline in ws.pipelines.list():
            view = ws.pipelines.show(pipeline.tag)
            tags = {item.node.id: item.node.tag for item in view.nodes}
            files, beside = {}, {}
            for node_id, tag in tags.items():
                code = root / "nodes" / node_id / "code"
                names = KEPT_FILES if tag != "second" else ("main.py", "params.yaml")
                files[tag] = {name: (code / name).read_bytes() for name in names}
                beside[tag] = sorted(  # its record, the copy of its code an adopt kept
                    p.relative_to(code.parent).as_posix()
                    for pattern in (".materialized", "undone-edits/materialize.*")
                    for p in code.parent.glob(pattern)
                )
            seen[pipeline.tag] = {
                "project": view.project.name,
                "nodes": sorted(tags.values()),
                "edges": sorted((tags[e.parent_id], tags[e.child_id], e.slot) for e in view.edges),
                "base": ws.base_envs.show(pipeline.tag),
                "files": files,
                "beside": beside,
            }
    return seen


@pytest.fixture(scope="module")
def expected(template: Path, finished: Path, wheels: Path) -> dict[str, Any]:
    """The world before any materialise of version 2, and after one nobody killed."""
    return {"before": world(template, wheels), "after": world(finished, wheels)}


@pytest.mark.parametrize(
    ("tag", "point"),
    [("existing", point) for point in EXISTING_POINTS]
    + [("fresh", point) for point in FRESH_POINTS],
)
def test_a_killed_materialize_leaves_all_or_nothing(
    template: Path, expected: dict[str, Any], wheels: Path, tmp_path: Path, tag: str, point: str
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    env = {**environment(wheels), "NODEPIPE_CRASH_AT": point}
    assert materialize(root, tag, "2", env) == -signal.SIGKILL

    found = world(root, wheels).get(tag)
    if point == "materialize.done":
        assert found == expected["after"][tag]
    else:
        assert found == expected["before"].get(tag), "half a materialise"
