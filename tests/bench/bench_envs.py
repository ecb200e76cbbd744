"""Benchmark: duplicating a numpy + pandas node, and the first run of a heavy import.

Run with ``python -m tests.bench.bench_envs`` (the first time, uv and pip download numpy and
pandas from PyPI into their caches; every figure is measured with warm caches). Prints:

- duplicating the node (code and lock copied, environment synced from the workspace uv cache
  with hard links): time and extra disk, against ``uv venv`` alone and a plain
  ``pip install numpy pandas`` into a fresh venv, all in this run;
- the first run of a node importing pandas right after its environment was built, with and
  without compiling bytecode at sync time, and a second (warm) run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nodepipe
from nodepipe.envs.uv import uv_binary
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.config import default_interpreter

PACKAGES = ["numpy==2.1.3", "pandas==2.2.3"]
IMPORT_PANDAS = "import pandas, nodepipe_node as n\n(n.data_dir() / 'v').write_text('ok')\n"


def disk_bytes(root: Path) -> int:
    """Bytes allocated under ``root``, each hard-linked file counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            stat = (Path(folder) / name).lstat()
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(list(args), check=True, env=env)


def duplication(ws: nodepipe.Workspace, root: Path) -> None:
    source = ws.nodes.new("bench", "analysis")
    ws.envs.add(source.id, PACKAGES)
    ws.node_copies.duplicate([source.id], "bench")  # warm every cache
    before = disk_bytes(root)
    duplicate = timed(lambda: ws.node_copies.duplicate([source.id], "bench"))
    extra = disk_bytes(root) - before

    python = default_interpreter()
    env = {**os.environ, "UV_CACHE_DIR": str(ws.context.layout.uv_cache_dir)}
    uv_venv = timed(
        lambda: run(uv_binary(), "venv", "-q", "--python", python, str(root / "bare"), env=env)
    )
    run(python, "-m", "venv", str(root / "pip-warm"))
    run(str(root / "pip-warm" / "bin" / "pip"), "install", "-q", *PACKAGES)  # warm pip's cache
    run(python, "-m", "venv", str(root / "pip"))
    before_pip = disk_bytes(root / "pip")
    pip_time = timed(lambda: run(str(root / "pip" / "bin" / "pip"), "install", "-q", *PACKAGES))
    pip_disk = disk_bytes(root / "pip") - before_pip
    print(f"duplicate numpy+pandas node: {duplicate:6.3f} s, {extra / 1e6:7.2f} MB extra disk")
    print(f"uv venv alone:               {uv_venv:6.3f} s  (duplicate: {duplicate / uv_venv:.1f}x)")
    print(
        f"pip install into fresh venv: {pip_time:6.3f} s, {pip_disk / 1e6:7.2f} MB"
        f"  (duplicate: {duplicate / pip_time:.3f}x the time)"
    )


def first_runs(ws: nodepipe.Workspace, compiled: bool) -> None:
    """A node importing pandas: sync, then a first and a second run."""
    node = ws.nodes.new("bench", f"first-{'compiled' if compiled else 'plain'}")
    code = ws.nodes.path(node.id) / "code"
    (code / "main.py").write_text(IMPORT_PANDAS)
    ws.envs.add(node.id, PACKAGES)
    sync = timed(lambda: ws.context.environments.sync(code, compile_bytecode=compiled))
    request = RunRequest("bench", only=[node.id], force=True)
    first = timed(lambda: ws.runs.run(request))
    second = timed(lambda: ws.runs.run(request))
    label = "compiled at sync" if compiled else "not compiled    "
    print(
        f"pandas node, bytecode {label}: sync {sync:6.3f} s, first run {first:6.3f} s,"
        f" second run {second:6.3f} s"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-") as scratch:
        root = Path(scratch)
        ws = nodepipe.init(root / "lab")
        ws.pipelines.new("bench")
        duplication(ws, root)
        first_runs(ws, compiled=False)
        first_runs(ws, compiled=True)
        ws.close()


if __name__ == "__main__":
    main()
