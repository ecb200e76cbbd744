"""Benchmark: exporting and importing a 50-node pipeline as a bundle, against their floors.

Run with ``python -m tests.bench.bench_bundles`` (offline: a tiny local wheel stands in for
an index). Every node depends on one package. Prints, all measured in this run:

- export (pipeline.toml, pipeline.lock, each node's code) against a plain copy of the same
  code folders (``shutil.copytree``, environments left out);
- import (new pipeline, rows, folders, 50 environments synced from their locks, several at
  a time) with a warm uv cache, against a plain copy of the bundle's node folders followed by
  ``uv sync --frozen`` of the same 50 locks with the same cache, as many at a time;
- the ratio of each to its floor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.wheels import toy_index

import nodepipe
from nodepipe.envs.uv import UvRunner, uv_binary
from nodepipe.services.bundles.importing import default_jobs
from nodepipe.workspace.node_folder import COPY_IGNORED

NODES = 50
REPEATS = 3


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def best(action: Callable[[int], object]) -> float:
    """The best of ``REPEATS`` runs (each given its round number)."""
    return min(timed(lambda round_=round_: action(round_)) for round_ in range(REPEATS))


def build(root: Path) -> nodepipe.Workspace:
    """A pipeline of ``NODES`` nodes, each with toypkg locked: a chain with a fan every 5."""
    ws = nodepipe.init(root / "source")
    ws.pipelines.new("big")
    first = ws.nodes.new("big", "n00")
    ws.envs.add(first.id, ["toypkg==1.0"])
    copies = ws.node_copies.duplicate([first.id] * 1, "big")
    while len(ws.pipelines.show("big").nodes) < NODES:
        have = len(ws.pipelines.show("big").nodes)
        ids = [i.node.id for i in ws.pipelines.show("big").nodes][: NODES - have]
        copies = ws.node_copies.duplicate(ids, "big")
    del copies
    for index, item in enumerate(sorted(ws.pipelines.show("big").nodes, key=lambda i: i.node.id)):
        ws.nodes.rename(item.node.id, f"n{index:02d}", pipeline="big")
    for index in range(1, NODES):
        parent = f"n{(index - 1) - (index - 1) % 5:02d}" if index % 5 else f"n{index - 1:02d}"
        ws.edges.connect(parent, f"n{index:02d}", "big")
    return ws


def plain_copy(bundle: Path, target: Path) -> None:
    for code in sorted(bundle.glob("nodes/*/code")):
        shutil.copytree(code, target / code.parent.name / "code", ignore=COPY_IGNORED)


def frozen_syncs(folders: list[Path], cache: Path, python: str, jobs: int) -> None:
    """``uv sync --frozen`` in each folder, as nodepipe runs uv (same cache, interpreter)."""
    env = UvRunner(cache).environment()

    def sync(code: Path) -> None:
        argv = [uv_binary(), "sync", "--frozen", "--quiet", "--python", python]
        subprocess.run(argv, cwd=code, env=env, check=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(sync, folders))


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        wheels = toy_index(root / "wheels")
        os.environ.update(
            UV_FIND_LINKS=str(wheels), UV_OFFLINE="1", UV_INDEX_URL="http://127.0.0.1:9/simple"
        )
        ws = build(root)
        ws.bundles.export("big", root / "warm-export")
        export = best(lambda r: ws.bundles.export("big", root / f"export{r}"))
        copy = best(lambda r: plain_copy(root / "export0", root / f"copy{r}"))
        target = nodepipe.init(root / "target")
        target.bundles.import_(root / "export0", name="warm")  # the uv cache warm
        jobs = default_jobs()
        imported = best(lambda r: target.bundles.import_(root / "export0", name=f"big{r}"))
        cache = target.context.layout.uv_cache_dir

        def floor(round_: int) -> None:
            where = root / f"floor{round_}"
            plain_copy(root / "export0", where)
            frozen_syncs(sorted(where.glob("*/code")), cache, target.context.config.python, jobs)

        import_floor = best(floor)
        print(f"{NODES}-node pipeline, each node locked with one package; best of {REPEATS}")
        print(f"export:                    {export:7.3f} s")
        print(f"plain copy of the code:    {copy:7.3f} s   export: {export / copy:5.2f}x")
        print(f"import ({jobs} syncs at once):   {imported:7.3f} s")
        print(
            f"copy + uv sync --frozen:   {import_floor:7.3f} s   import: "
            f"{imported / import_floor:5.2f}x"
        )
        ws.close()
        target.close()


if __name__ == "__main__":
    main()
