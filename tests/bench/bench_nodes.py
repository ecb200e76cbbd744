"""Benchmark: node creation and duplication on a warm cache, against `uv venv` alone.

Run with ``make bench`` (or ``python -m tests.bench.bench_nodes``). Every figure is the median
of several repetitions, and every ratio is taken against floors measured in the same run, so
a busy machine slows both sides alike. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nodepipe
from nodepipe.envs.uv import UvRunner, uv_binary
from nodepipe.workspace.config import default_interpreter

REPEAT = 15
NODEPIPE = str(Path(sys.executable).parent / "nodepipe")


def median_seconds(action: Callable[[int], object], repeat: int = REPEAT) -> float:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        action(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-") as scratch:
        root = Path(scratch)
        ws = nodepipe.init(root / "lab")
        ws.pipelines.new("bench")
        source = ws.nodes.new("bench", "warmup")  # warms the uv cache and the lock cache
        uv = UvRunner(ws.context.layout.uv_cache_dir)
        python = default_interpreter()

        def uv_venv(i: int) -> None:
            subprocess.run(
                [uv_binary(), "venv", "-q", "--python", python, str(root / f"venv{i}")],
                env=uv.environment(),
                check=True,
            )

        def bare_python(_: int) -> None:
            subprocess.run([python, "-c", "pass"], check=True)

        floors = {
            "uv venv alone": median_seconds(uv_venv),
            "bare interpreter launch": median_seconds(bare_python),
        }
        figures = {
            "node new (Python API)": median_seconds(lambda i: ws.nodes.new("bench", f"api{i}")),
            "node duplicate (Python API)": median_seconds(
                lambda i: ws.node_copies.duplicate([source.id], "bench")
            ),
            "node new (CLI, whole process)": median_seconds(
                lambda i: subprocess.run(
                    [NODEPIPE, "-w", str(ws.root), "node", "new", "bench", "--tag", f"cli{i}"],
                    check=True,
                    capture_output=True,
                ),
                repeat=7,
            ),
            "nodepipe --help (CLI start-up)": median_seconds(
                lambda i: subprocess.run([NODEPIPE, "--help"], check=True, capture_output=True),
                repeat=7,
            ),
        }
        ws.close()
    print(f"{'measure':34} {'median':>9}  ratio to uv venv")
    for name, seconds in {**floors, **figures}.items():
        print(f"{name:34} {seconds * 1000:7.1f}ms  {seconds / floors['uv venv alone']:6.2f}x")


if __name__ == "__main__":
    main()
