"""Benchmarks of the run engine, each against a floor measured in the same run.

(a) a fan-out of 50 trivial nodes (one source, 50 children) against the same fan-out done by
    hand with bare launches of the same interpreter (the source, then the 50 with the same
    parallelism);
(b) the no-change re-run of a 200-node pipeline (Python API and whole CLI process), against a
    bare ``python -c pass`` launch;
(a') the same fan-out by a minimal orchestrator in this process, against the same floor: the
    least one keeping nodepipe's promises about outputs does (a durable claim, a fresh staging
    folder and a log per node, the outputs promoted by renames, flushed, then one durable record),
    and nothing else (no checks, no environments, no events): what Python and those promises
    alone cost, beside (a);
(c) what recording each node run's environment (lock, interpreter, platform, code) costs in
    (a): recording the 51 nodes' environments again, every content already stored, as a share
    of the fan-out run.

Run with ``python -m tests.bench.bench_runs [--dir DIR]``. Nothing here asserts a time.

The workspace's setup (51 node folders and environments) is flushed to disk (``os.sync``)
before anything is timed: otherwise the kernel writes it back during the timed runs, which
slows the runs (they create log files) and not the floor (it writes nothing). On these
machines' ext4 (no journal) a file is also slower to create for 30 s after many files were
deleted nearby, so a run right after another benchmark or the test suite reads high.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench import fresh_bytecode, load, paired

import nodepipe
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.durable import sync_filesystem
from nodepipe.workspace.objects import ObjectStore
from nodepipe.workspace.run_environment import read_manifest, record_environment

JOBS = 2
FAN_OUT = 50
PAIRS = 7
BIG = 200
TRIVIAL = "pass\n"
NODEPIPE = str(Path(sys.executable).parent / "nodepipe")


def timed(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def build(ws: nodepipe.Workspace, tag: str, children: int, chain: bool = False) -> str:
    """A pipeline: a source and ``children`` nodes below it (a chain of them with ``chain``)."""
    ws.pipelines.new(tag)
    source = ws.nodes.new(tag, "source")
    (ws.nodes.path(source.id) / "code" / "main.py").write_text(TRIVIAL)
    previous = source.id
    for i in range(children):
        node = ws.node_copies.duplicate([source.id], tag)[0]
        ws.nodes.rename(node.id, f"n{i:03d}")
        ws.edges.connect(previous if chain and i % 10 else source.id, node.id, tag)
        previous = node.id
    return source.id


def fan_out(ws: nodepipe.Workspace) -> tuple[str, float]:
    """The fan-out run in this process against the same fan-out by hand (bare launches of the
    node's interpreter on its main.py: the source, then the 50 children ``JOBS`` at a time),
    alternating: the paired figures (wall and CPU, see ``tests.bench.paired``) and the median
    wall seconds of the run."""
    source = build(ws, "fan", FAN_OUT)
    python = str(ws.nodes.path(source) / "code" / ".venv" / "bin" / "python")
    code = str(ws.nodes.path(source) / "code" / "main.py")
    ws.runs.run(RunRequest("fan", jobs=JOBS))  # first run: environments checked, caches warm
    os.sync()  # the setup's writes reach the disk now, not during the timed runs

    def run() -> None:
        ws.runs.run(RunRequest("fan", jobs=JOBS, force=True))

    figures = paired(run, lambda: by_hand(python, code), PAIRS, own=True)
    return figures, timed(run, 1)


def minimal_orchestrator(ws: nodepipe.Workspace, scratch: Path) -> str:
    """(a'): the fan-out's nodes run by :class:`MinimalOrchestrator`, against the same floor."""
    nodes = [ws.nodes.path(node.id) for node in ws.nodes.list("fan")]
    source = next(path for path in nodes if path.name == ws.nodes.get("source", "fan").id)
    children = [path for path in nodes if path != source]
    python = str(source / "code" / ".venv" / "bin" / "python")
    minimal = MinimalOrchestrator(python, scratch / "minimal.sqlite")
    code = str(source / "code" / "main.py")
    return paired(lambda: minimal.run(source, children), lambda: by_hand(python, code), PAIRS, True)


def by_hand(python: str, code: str) -> None:
    """The floor of (a) and (a'): the source, then the 50 children ``JOBS`` at a time."""
    subprocess.run([python, code], check=True)
    with ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(lambda _: subprocess.run([python, code], check=True), range(FAN_OUT)))


class MinimalOrchestrator:
    """The least an orchestrator keeping nodepipe's promises about outputs does for a run."""

    def __init__(self, python: str, store: Path) -> None:
        self.python = python
        self.store = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
        self.store.execute("pragma journal_mode=wal")
        self.store.execute("pragma synchronous=full")
        self.store.execute("create table if not exists runs (run text, node text, state text)")
        self.runs = 0

    def run(self, source: Path, children: list[Path]) -> None:
        self.runs += 1
        run = str(self.runs)
        self._record(run, [source, *children], "queued")  # claimed before anything starts
        self._node(run, source)
        with ThreadPoolExecutor(JOBS) as pool:
            list(pool.map(lambda node: self._node(run, node), children))
        sync_filesystem(source.parent)  # the outputs reach the disk before the record
        self._record(run, [source, *children], "completed")

    def _node(self, run: str, node: Path) -> None:
        staging, data, old = (node / f".minimal-{name}" for name in (run, "data", "old"))
        staging.mkdir()
        with (node / "logs" / f"minimal-{run}.log").open("ab") as log:
            environment = {**os.environ, "NODEPIPE_DATA_DIR": str(staging)}
            subprocess.run(
                [self.python, "main.py"],
                cwd=node / "code",
                env=environment,
                stdout=log,
                stderr=log,
                start_new_session=True,
                check=True,
            )
        if data.exists():
            data.rename(old)
        staging.rename(data)
        shutil.rmtree(old, ignore_errors=True)

    def _record(self, run: str, nodes: list[Path], state: str) -> None:
        self.store.execute("begin")
        self.store.executemany(
            "insert into runs values (?, ?, ?)", [(run, node.name, state) for node in nodes]
        )
        self.store.execute("commit")


def recording(ws: nodepipe.Workspace, run: float) -> tuple[float, float]:
    """(seconds, share of ``run``): recording the fan-out's environments as a re-run does."""
    objects = ObjectStore(ws.context.layout.objects_dir)
    codes = [ws.nodes.path(node.id) / "code" for node in ws.nodes.list("fan")]
    known = {}  # what a run's fingerprint tells: every code file's digest but params.yaml's
    for code in codes:
        files = read_manifest(objects, record_environment(code, objects, {})).files
        known[code] = {path: digest for path, digest in files.items() if path != "params.yaml"}
    took = timed(lambda: [record_environment(code, objects, known[code]) for code in codes], 5)
    return took, took / run


def no_change(ws: nodepipe.Workspace) -> tuple[float, float, float]:
    build(ws, "big", BIG - 1, chain=True)
    ws.runs.run(RunRequest("big", jobs=JOBS))
    api = timed(lambda: ws.runs.run(RunRequest("big")), 5)
    cli = timed(
        lambda: subprocess.run(
            [NODEPIPE, "-w", str(ws.root), "run", "big"], check=True, capture_output=True
        ),
        3,
    )
    floor = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5)
    return floor, api, cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="where the scratch workspace goes (default: the temp dir)")
    arguments = parser.parse_args()
    fresh_bytecode()
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-", dir=arguments.dir) as scratch:
        ws = nodepipe.init(Path(scratch) / "lab")
        print(f"(a) fan-out run of 1 + {FAN_OUT} nodes, --jobs {JOBS}, Python API, against bare")
        print(f"    launches: 1, then {FAN_OUT}, {JOBS} at a time ({load()}; {PAIRS} pairs):")
        figures, nodes = fan_out(ws)
        print(f"    {figures}")
        print("    (target ≤ 1.3x in wall time on a quiet machine; CPU counts this process too)")
        print(f"(a') the same fan-out by a minimal orchestrator in this process ({load()}):")
        print(f"    {minimal_orchestrator(ws, Path(scratch))}")
        print("    (the least keeping the promises about outputs costs: see the docstring)")
        took, share = recording(ws, nodes)
        floor, api, cli = no_change(ws)
        print(f"(b) no-change re-run of {BIG} nodes, Python API:   {api:7.3f} s (target < 0.5 s)")
        print(f"    same through the CLI (whole process): {cli:7.3f} s")
        print(
            f"    bare interpreter launch (floor):      {floor:7.3f} s"
            f"   CLI ratio {cli / floor:5.1f}x"
        )
        print(
            f"(c) recording what the {FAN_OUT + 1} nodes of (a) run with: {took * 1000:6.1f} ms"
            f"   {share:6.1%} of the fan-out run"
        )
        ws.close()


if __name__ == "__main__":
    main()
