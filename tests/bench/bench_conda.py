"""Benchmark: a node's conda prefix, beside ``uv sync --frozen`` of the same node.

Run with ``python -m tests.bench.bench_conda`` (offline: the conda packages come from a local
channel the benchmark builds, the Python package from a tiny local wheel). Every figure is
measured with warm caches, as the median of ``REPEATS``. Prints, in one run:

- creating the node's conda prefix from its lock with a warm package cache (hard links);
- duplicating the node (code and both locks copied, ``.venv`` and ``.conda`` built from them);
- restoring a past run's environment (``env restore``: that run's locks written back, the
  prefix rebuilt, ``uv sync --frozen``);
- ``uv sync --frozen`` of the same node into a fresh environment: the floor each is compared to.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.conda_channel import conda_channel
from tests.support.wheels import toy_index

import nodepipe
from nodepipe.envs.uv import uv_binary
from nodepipe.services.runs.service import RunRequest

REPEATS = 7


def median_seconds(action: Callable[[], object], prepare: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        prepare()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-conda-") as scratch:
        root = Path(scratch)
        wheels = toy_index(root / "wheels")
        os.environ.update(
            UV_FIND_LINKS=str(wheels), UV_OFFLINE="1", UV_INDEX_URL="http://127.0.0.1:9/simple"
        )
        channel = conda_channel(root / "conda")
        with nodepipe.init(root / "lab") as ws:
            measure(ws, channel)


def measure(ws: nodepipe.Workspace, channel: Path) -> None:
    ws.pipelines.new("bench")
    node = ws.nodes.new("bench", "tools")
    ws.envs.add(node.id, ["toypkg==1.0"])
    ws.conda.add(node.id, ["hello-tool 1.0.*"], [str(channel)])
    first = ws.runs.run(RunRequest("bench")).run_id
    ws.conda.add(node.id, ["other-tool"])
    ws.runs.run(RunRequest("bench"))
    assert first is not None
    code = ws.nodes.path(node.id) / "code"
    conda = ws.context.environments.conda

    prefix = median_seconds(
        lambda: conda.install(code), lambda: shutil.rmtree(code / ".conda", ignore_errors=True)
    )
    copies: list[str] = []
    duplicate = median_seconds(
        lambda: copies.extend(n.id for n in ws.node_copies.duplicate([node.id], "bench")),
        lambda: None,
    )

    def back_to_second() -> None:
        ws.conda.add(node.id, ["other-tool"])

    restore = median_seconds(lambda: ws.run_envs.restore(node.id, first), back_to_second)
    uv_env = {
        **os.environ,
        "UV_CACHE_DIR": str(ws.context.layout.uv_cache_dir),
        "UV_PROJECT_ENVIRONMENT": str(code.parent / "bench-venv"),
    }
    python = ws.context.environments.python_for(code)
    uv_sync = median_seconds(
        lambda: subprocess.run(
            [uv_binary(), "sync", "--frozen", "-q", "--python", python],
            cwd=code,
            env=uv_env,
            check=True,
        ),
        lambda: shutil.rmtree(code.parent / "bench-venv", ignore_errors=True),
    )
    print(f"uv sync --frozen of the node (floor):  {uv_sync:6.3f} s")
    print(f"conda prefix from a warm cache:        {prefix:6.3f} s  ({prefix / uv_sync:.2f}x)")
    print(
        f"duplicate the node (.venv + .conda):   {duplicate:6.3f} s  ({duplicate / uv_sync:.2f}x)"
    )
    print(f"restore a past run's environment:      {restore:6.3f} s  ({restore / uv_sync:.2f}x)")


if __name__ == "__main__":
    main()
