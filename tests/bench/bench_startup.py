"""Benchmarks of what every process pays before it works, each against a floor in the same run.

(1) import nodepipe_node in a node process (issue 17, target 2): a launch of the node's own
    interpreter importing the helper, against the same launch importing nothing (the
    difference is the helper's cost), and the interpreter's own ``-X importtime`` figure;
(2) CLI start (target 3): ``nodepipe --help``, ``nodepipe status`` and a no-change
    ``nodepipe run`` of a 20-node chain, whole processes, against ``python -c pass``;
(3) whole commands (target 1): a full run (``--force``) of the 20-node chain as one
    ``nodepipe run`` process against 20 bare launches of the node's interpreter in sequence,
    and a 50-node fan-out (one source, 50 children, ``--jobs 2``) against the same fan-out by
    hand (bare launches, two at a time).

Figure and floor alternate, and each ratio is the median of per-pair ratios: the machine's
load changes from one second to the next. Each is given in wall time and in CPU time (user +
system of every process involved). Issue 17 states targets 1 and 3 in wall time of the whole
command, measured on a quiet machine: the wall ratio is the Done-means figure; the CPU ratio
is its companion on a machine busy with other work, which inflates CPU time far less. The
load averages are printed before and after each part. Run with
``python -m tests.bench.bench_startup`` (``--pairs N`` for more repetitions). Not a test:
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench import fresh_bytecode, load, paired, seconds
from tests.bench.bench_runs import TRIVIAL, build

import nodepipe
from nodepipe.services.runs.service import RunRequest

RUNTIME_DIR = Path(nodepipe.__file__).parent / "runtime"
NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
JOBS = 2
CHAIN = 20
FAN_OUT = 50


def quiet(*argv: str, env: dict[str, str] | None = None) -> Callable[[], object]:
    return lambda: subprocess.run(argv, check=True, capture_output=True, env=env)


def helper_import(python: str, pairs: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(RUNTIME_DIR), "PYTHONDONTWRITEBYTECODE": "1"}
    with_helper = quiet(python, "-c", "import nodepipe_node", env=env)
    bare = quiet(python, "-c", "pass", env=env)
    figures, floors = [], []
    for _ in range(pairs * 3):
        floors.append(seconds(bare)[1])
        figures.append(seconds(with_helper)[1])
    difference = statistics.median(figures) - statistics.median(floors)
    reported = []
    for _ in range(pairs):
        completed = subprocess.run(
            [python, "-X", "importtime", "-c", "import nodepipe_node"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        found = re.search(r"\|\s+(\d+) \| nodepipe_node$", completed.stderr, re.MULTILINE)
        assert found is not None, completed.stderr
        reported.append(int(found.group(1)) / 1000)
    print("(1) import nodepipe_node in a node process (target ≤ 2 ms)")
    print(f"    -X importtime, cumulative:     {statistics.median(reported):8.2f} ms (median)")
    print(
        f"    CPU of a launch + import vs a bare launch: {statistics.median(figures) * 1000:.1f} ms"
        f" vs {statistics.median(floors) * 1000:.1f} ms (the import: {difference * 1000:.1f} ms)"
    )


def cli_start(ws: nodepipe.Workspace, pairs: int) -> None:
    floor = quiet(sys.executable, "-c", "pass")
    root = str(ws.root)
    print(f"(2) CLI start, whole process, against `python -c pass` ({load()})")
    help_ = quiet(NODEPIPE, "--help")
    status = quiet(NODEPIPE, "-w", root, "status", "chain")
    run = quiet(NODEPIPE, "-w", root, "run", "chain")
    for label, command in (
        ("nodepipe --help", help_),
        ("nodepipe status (20-node chain)", status),
        ("nodepipe run, nothing to do (20)", run),
    ):
        print(f"    {label:36}{paired(command, floor, pairs)}")
    print("    targets (wall, quiet machine): --help ≤ 80 ms, status and no-change run ≤ 150 ms")


def whole_commands(ws: nodepipe.Workspace, pairs: int) -> None:
    root = str(ws.root)
    chain_source = ws.nodes.get("source", "chain")
    python = str(ws.nodes.path(chain_source.id) / "code" / ".venv" / "bin" / "python")
    main = str(ws.nodes.path(chain_source.id) / "code" / "main.py")

    def bare_chain() -> None:
        for _ in range(CHAIN):
            subprocess.run([python, main], check=True)

    def bare_fan_out() -> None:
        subprocess.run([python, main], check=True)
        with ThreadPoolExecutor(JOBS) as pool:
            list(pool.map(lambda _: subprocess.run([python, main], check=True), range(FAN_OUT)))

    chain_run = quiet(NODEPIPE, "-w", root, "run", "chain", "--force")
    fan_run = quiet(NODEPIPE, "-w", root, "run", "fan", "--force", "--jobs", str(JOBS))
    print(
        "(3) whole `nodepipe run` processes against bare launches of the node's interpreter"
        f" ({load()})"
    )
    for label, command, floor in (
        (f"chain of {CHAIN}, full run (≤ 2x)", chain_run, bare_chain),
        (f"fan-out 1 + {FAN_OUT}, --jobs {JOBS} (≤ 1.3x)", fan_run, bare_fan_out),
    ):
        print(f"    {label:36}{paired(command, floor, pairs)}")
    print(f"    the issue's figure is the wall ratio on a quiet machine ({load()})")


def chain_of(ws: nodepipe.Workspace, tag: str, length: int) -> None:
    """A pipeline of ``length`` trivial nodes, each the only input of the next."""
    ws.pipelines.new(tag)
    source = ws.nodes.new(tag, "source")
    (ws.nodes.path(source.id) / "code" / "main.py").write_text(TRIVIAL)
    previous = source.id
    for i in range(1, length):
        node = ws.node_copies.duplicate([source.id], tag)[0]
        ws.nodes.rename(node.id, f"n{i:03d}")
        ws.edges.connect(previous, node.id, tag)
        previous = node.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="where the scratch workspace goes (default: the temp dir)")
    parser.add_argument("--pairs", type=int, default=7, help="repetitions of each pair")
    arguments = parser.parse_args()
    fresh_bytecode()
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-", dir=arguments.dir) as scratch:
        ws = nodepipe.init(Path(scratch) / "lab")
        chain_of(ws, "chain", CHAIN)
        build(ws, "fan", FAN_OUT)
        ws.runs.run(RunRequest("chain", jobs=JOBS))
        ws.runs.run(RunRequest("fan", jobs=JOBS))
        os.sync()  # the setup's writes reach the disk now, not during the timed runs
        source = ws.nodes.get("source", "chain")
        python = str(ws.nodes.path(source.id) / "code" / ".venv" / "bin" / "python")
        helper_import(python, arguments.pairs)
        cli_start(ws, arguments.pairs)
        whole_commands(ws, arguments.pairs)
        ws.close()


if __name__ == "__main__":
    main()
