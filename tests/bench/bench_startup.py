"""Benchmarks of what every process pays before it works, each against a floor in the same run.

(1) import nodepipe_node in a node process (issue 17, target 2): a launch of the node's own
    interpreter importing the helper, against the same launch importing nothing (the
    difference is the helper's cost), and the interpreter's own ``-X importtime`` figure;
(2) CLI start (target 3): ``nodepipe --help``, ``nodepipe status`` and a no-change
    ``nodepipe run`` of a 20-node chain, whole processes, against ``python -c pass``;
(3) whole commands (target 1): a full run (``--force``) of the 20-node chain as one
    ``nodepipe run`` process against 20 bare launches of the node's interpreter in sequence,
    and a 50-node fan-out (one source, 50 children, ``--jobs 2``) against the same fan-out by
    hand (bare launches, two at a time); and, served, the fan-out at ``--jobs 1`` against it
    by hand one at a time: the same work with a core left for the orchestrator, which on two
    cores at ``--jobs 2`` competes with the nodes for theirs.

``status`` and the runs of (2) and (3) are measured three ways (``ForkServerModes``): served by
a warm fork server (the figure: every command but the first), the first command that finds
no server, and the server off; the runs of (3) a fourth way too: served, with every node
process started from nothing (``NODEPIPE_WARM_START=0``) rather than forked from a warm
interpreter (``execution.warm_start``).

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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench import fresh_bytecode, load, paired, seconds
from tests.bench.bench_runs import TRIVIAL, MinimalOrchestrator, build
from tests.support.fork_servers import server_pids, stop_servers

import nodepipe
from nodepipe.cli.fork_client import CPU_FILE_ENV, SWITCH_ENV
from nodepipe.execution.warm_start import SWITCH_ENV as WARM_SWITCH
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


class ForkServerModes:
    """The three ways a served command (``run``, ``status``) starts: (a) a warm fork server runs
    it in a worker forked from a process that has imported nodepipe (the figure: it is every
    command but the first); (b) the first command, which finds no server, runs in its own
    process and starts one when it is done; (c) the server off (``NODEPIPE_FORK_SERVER=0``).
    The CPU of (a) adds the worker's (not a child of the command: the client writes the CPU
    its worker used, children included, to ``NODEPIPE_FORK_CPU_FILE``); that of (b) leaves out
    the server it starts in the background (the price of the next commands' start)."""

    def __init__(self, runtime: Path, root: str) -> None:
        self.runtime = runtime
        self.root = root
        self.cpu_file = runtime / "worker-cpu"
        base = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
        self.on = {**base, SWITCH_ENV: "1", CPU_FILE_ENV: str(self.cpu_file)}
        self.off = {**base, SWITCH_ENV: "0"}

    def each(
        self, *argv: str, launches: bool = False
    ) -> list[tuple[str, Callable[[], object], Callable[[], None]]]:
        """(mode, the command, what to do untimed before it) for each of the three modes; with
        ``launches`` (a run that starts nodes) a fourth: (a) with every node process started
        from nothing (``NODEPIPE_WARM_START=0``: no warm interpreter forks them)."""

        def served(env: dict[str, str]) -> Callable[[], float]:
            def command() -> float:
                self.cpu_file.write_text("")
                subprocess.run(argv, check=True, capture_output=True, env=env)
                user, system = map(float, self.cpu_file.read_text().split() or ["0", "0"])
                return user + system

            return command

        modes: list[tuple[str, Callable[[], object], Callable[[], None]]] = [
            ("(a) warm server", served(self.on), self.warm),
            ("(b) first, no server", quiet(*argv, env=self.on), self.stop),
            ("(c) server off", quiet(*argv, env=self.off), self.stop),
        ]
        if launches:
            cold = {**self.on, WARM_SWITCH: "0"}
            modes.append(("(d) as (a), nodes from nothing", served(cold), self.warm))
        return modes

    def warm(self) -> None:
        """A server running that has served (and so imported what these commands use)."""
        log = self.runtime / "nodepipe"
        for _ in range(2 if server_pids(log) else 3):
            subprocess.run(
                [NODEPIPE, "-w", self.root, "status", "chain"], check=True, capture_output=True,
                env=self.on,
            )  # fmt: skip
            for _ in range(600):
                if any("serving" in f.read_text() for f in log.glob("fork-*.log")):
                    break
                time.sleep(0.05)

    def stop(self) -> None:
        stop_servers(self.runtime, [])


def cli_start(ws: nodepipe.Workspace, pairs: int, modes: ForkServerModes) -> None:
    floor = quiet(sys.executable, "-c", "pass")
    root = str(ws.root)
    print(f"(2) CLI start, whole process, against `python -c pass` ({load()})")
    help_ = quiet(NODEPIPE, "--help")
    print(f"    {'nodepipe --help':36}{paired(help_, floor, pairs)}")
    for label, argv in (
        ("nodepipe status (20-node chain)", (NODEPIPE, "-w", root, "status", "chain")),
        ("nodepipe run, nothing to do (20)", (NODEPIPE, "-w", root, "run", "chain")),
    ):
        print(f"    {label}")
        for mode, command, before in modes.each(*argv):
            print(f"      {mode:34}{paired(command, floor, pairs, before=before)}")
    print("    targets (wall, quiet machine): --help ≤ 80 ms, status and no-change run ≤ 150 ms")


def whole_commands(ws: nodepipe.Workspace, pairs: int, modes: ForkServerModes) -> None:
    root = str(ws.root)
    chain_source = ws.nodes.get("source", "chain")
    python = str(ws.nodes.path(chain_source.id) / "code" / ".venv" / "bin" / "python")
    main = str(ws.nodes.path(chain_source.id) / "code" / "main.py")

    def bare_chain() -> None:
        for _ in range(CHAIN):
            subprocess.run([python, main], check=True)

    def bare_fan_out(jobs: int = JOBS) -> None:
        subprocess.run([python, main], check=True)
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(lambda _: subprocess.run([python, main], check=True), range(FAN_OUT)))

    chain_run = (NODEPIPE, "-w", root, "run", "chain", "--force")
    fan_run = (NODEPIPE, "-w", root, "run", "fan", "--force", "--jobs", str(JOBS))
    print(
        "(3) whole `nodepipe run` processes against bare launches of the node's interpreter"
        f" ({load()})"
    )
    for label, argv, floor in (
        (f"chain of {CHAIN}, full run (≤ 2x)", chain_run, bare_chain),
        (f"fan-out 1 + {FAN_OUT}, --jobs {JOBS} (≤ 1.3x)", fan_run, bare_fan_out),
    ):
        print(f"    {label}")
        for mode, command, before in modes.each(*argv, launches=True):
            print(f"      {mode:34}{paired(command, floor, pairs, before=before)}")
    print(f"    the issue's figure is the wall ratio on a quiet machine ({load()})")
    one_job = (*fan_run[:-1], "1")
    _, served, warm = modes.each(*one_job)[0]
    print(
        f"    the same fan-out at --jobs 1, served, against it by hand one at a time: a core is"
        f" left for the orchestrator ({os.cpu_count()} on this machine)\n"
        f"      {'(a) warm server':34}{paired(served, lambda: bare_fan_out(1), pairs, before=warm)}"
    )
    print(
        "    the least a served run of the fan-out starting each node from nothing could cost"
        " here: a\n    served `status` of it (the client, the worker, the command parsed, the"
        " workspace opened,\n    what to run) then the minimal orchestrator of bench_runs (a')"
        " in this process (only the\n    promises about outputs; bare launches)\n"
        f"      {'(a) warm server':34}{least_served_run(ws, modes, pairs, bare_fan_out)}"
    )
    print(
        "    where the served fan-out's own time is (the store's times of the run, medians):\n"
        f"      {served_phases(ws, modes, fan_run, pairs)}"
    )


def least_served_run(
    ws: nodepipe.Workspace,
    modes: ForkServerModes,
    pairs: int,
    bare_fan_out: Callable[[], None],
) -> str:
    """A lower bound of the served fan-out, against the fan-out by hand: what any served run
    must do before its first node (``status``, served) plus what any orchestrator keeping
    nodepipe's promises about outputs does in process (``MinimalOrchestrator``); whatever a run
    adds beyond it (the checks of what is stale and why, the environment kept in step with its
    lock, the record of what a node ran with, live events) is the rest of the served ratio."""
    nodes = {node.id: ws.nodes.path(node.id) for node in ws.nodes.list("fan")}
    source = nodes.pop(ws.nodes.get("source", "fan").id)
    python = str(source / "code" / ".venv" / "bin" / "python")
    _, status, warm = modes.each(NODEPIPE, "-w", str(ws.root), "status", "fan")[0]
    with tempfile.TemporaryDirectory() as scratch:
        minimal = MinimalOrchestrator(python, Path(scratch) / "minimal.sqlite")

        def least() -> float:
            worker_cpu = status()
            minimal.run(source, list(nodes.values()))
            return float(worker_cpu)

        return paired(least, bare_fan_out, pairs, own=True, before=warm)


def served_phases(
    ws: nodepipe.Workspace, modes: ForkServerModes, argv: Sequence[str], pairs: int
) -> str:
    """Where the served fan-out's wall time goes beyond its nodes, from the times the run
    itself recorded (the store's, on the same clock as this process's): from the command's
    start until the run was claimed and until its first node started, from the source's end
    until the first child started, and from the last node's end until the command ended. The
    floor starts its first launch at once and ends with its last one."""
    _, served, warm = modes.each(*argv)[0]
    source = ws.nodes.get("source", "fan").id
    phases: list[tuple[float, float, float, float]] = []
    for _ in range(pairs):
        warm()
        start = time.time()
        served()
        end = time.time()
        run = ws.runs.history("fan", limit=1)[0]
        node_runs = ws.runs.node_runs(run.id)
        started = [n.started_at.timestamp() for n in node_runs if n.started_at is not None]
        children = [
            n.started_at.timestamp()
            for n in node_runs
            if n.node_id != source and n.started_at is not None
        ]
        ended = [n.finished_at.timestamp() for n in node_runs if n.finished_at is not None]
        source_end = next(
            n.finished_at.timestamp()
            for n in node_runs
            if n.node_id == source and n.finished_at is not None
        )
        phases.append(
            (
                run.created_at.timestamp() - start,
                min(started) - start,
                min(children) - source_end,
                end - max(ended),
            )
        )
    claimed, first, between, after = (
        statistics.median(p[i] for p in phases) * 1000 for i in range(4)
    )
    return (
        f"claimed {claimed:.1f} ms after the command's start, first node started at"
        f" {first:.1f} ms; first child {between:.1f} ms after the source's end; the command"
        f" ended {after:.1f} ms after its last node"
    )


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
        runtime = Path(tempfile.mkdtemp(prefix="np-bench-", dir="/tmp"))
        modes = ForkServerModes(runtime, str(ws.root))
        try:
            cli_start(ws, arguments.pairs, modes)
            whole_commands(ws, arguments.pairs, modes)
        finally:
            modes.stop()
            shutil.rmtree(runtime, ignore_errors=True)
        ws.close()


if __name__ == "__main__":
    main()
