"""Benchmark: checking staleness of nodes that share one big checkout (issue 14).

Twenty nodes each declare the same shared folder of 3,000 files as a code path. The figures:
the first check in a new process (every file hashed once, for all twenty nodes), a check of
an unchanged pipeline in a new process (the stat caches: nothing hashed), and the same check
in a long-lived process (the web app's case), each against the same pipeline without the
shared folder, measured in the same run. Not a test: nothing here asserts a time.

Then the launch: one node whose code path holds 30,000 modules (a monorepo), run again with
nothing changed (``run --force``): with the marks of what was compiled kept (the external code
compiled once per content: nothing of it read), against the same launch with the marks removed
first (what every launch cost before: a look at the ``.pyc`` of each of the 30,000 modules).
``--no-launch`` leaves that part out.

Run with ``python -m tests.bench.bench_external_code``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nodepipe
from nodepipe.services.runs.service import RunRequest

NODES = 20
FILES = 3000
REPEAT = 5
LAUNCH_FILES = 30_000
CHECK = "import sys, nodepipe\nws = nodepipe.open(sys.argv[1])\nws.runs.status(sys.argv[2])\n"


def in_new_process(root: Path, pipeline: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHECK, str(root), pipeline], check=True)
    return time.perf_counter() - start


def in_this_process(ws: nodepipe.Workspace, pipeline: str) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        ws.runs.status(pipeline)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-") as scratch:
        root = Path(scratch)
        shared = root / "shared"
        for i in range(FILES):
            folder = shared / f"pkg{i // 100:02}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"module{i:04}.py").write_text(f"VALUE = {i}\n" * 20)
        ws = nodepipe.init(root / "lab")
        for pipeline in ("plain", "shared"):
            ws.pipelines.new(pipeline)
            for n in range(NODES):
                node = ws.nodes.new(pipeline, f"n{n}")
                if pipeline == "shared":
                    ws.external.code_path_add(node.id, str(shared))
        time.sleep(2.5)  # every file settled: the stat caches may keep them
        first = {p: in_new_process(ws.root, p) for p in ("plain", "shared")}
        again = {
            p: statistics.median(in_new_process(ws.root, p) for _ in range(REPEAT))
            for p in ("plain", "shared")
        }
        live = {p: in_this_process(ws, p) for p in ("plain", "shared")}
        ws.close()
    print(f"{NODES} nodes sharing a folder of {FILES} files, against the same without it:")
    for name, figures in (
        ("first check, new process", first),
        ("unchanged, new process", again),
        ("unchanged, long-lived process", live),
    ):
        ratio = figures["shared"] / figures["plain"]
        print(
            f"  {name:32} {figures['shared'] * 1000:8.1f} ms vs "
            f"{figures['plain'] * 1000:8.1f} ms  ratio {ratio:5.2f}"
        )
    if "--no-launch" not in sys.argv:
        launch()


def launch() -> None:
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-") as scratch:
        root = Path(scratch)
        shared = root / "monorepo"
        for i in range(LAUNCH_FILES):
            folder = shared / f"pkg{i // 500:02}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"module{i:05}.py").write_text(f"VALUE = {i}\n")
        ws = nodepipe.init(root / "lab")
        ws.pipelines.new("big")
        node = ws.nodes.new("big", "a")
        ws.external.code_path_add(node.id, str(shared))
        marks = ws.root / ".nodepipe" / "compiled"
        start = time.perf_counter()
        ws.runs.run(RunRequest("big"))
        first = time.perf_counter() - start
        kept, removed = [], []
        for _ in range(REPEAT):
            start = time.perf_counter()
            ws.runs.run(RunRequest("big", force=True))
            kept.append(time.perf_counter() - start)
            for mark in marks.iterdir():
                mark.unlink()
            start = time.perf_counter()
            ws.runs.run(RunRequest("big", force=True))
            removed.append(time.perf_counter() - start)
        ws.close()
    print(f"one node with a code path of {LAUNCH_FILES:,} modules, run --force:")
    print(f"  first run (compiles them once)   {first:8.2f} s")
    print(f"  unchanged, compiled marks kept   {statistics.median(kept):8.2f} s")
    print(
        f"  unchanged, marks removed (before) {statistics.median(removed):7.2f} s  "
        f"ratio {statistics.median(removed) / statistics.median(kept):5.1f}x"
    )


if __name__ == "__main__":
    main()
