"""Benchmarks of large pipelines (issue 17, targets 4 and 5): build, plan, load.

(a) build a layered DAG of N nodes (default 1,000; ``--nodes 10000`` for the issue's figure)
    through the Python API: layers of 100 (each made by one ``nodes.new_many``), each node
    below the first reading 3 nodes of the layer above. Nodes share one environment
    (``shared_env``), so building measures the graph and its folders, not N uv environments.
    Each layer's edges are made by one ``edges.connect_many``. Printed: the whole build, its
    node creation apart, and a layer's ``connect_many`` among the first layers against one among
    the last: linear edits keep that ratio near 1 whatever N;
(b) one ``nodepipe connect`` and ``disconnect`` of the built pipeline through the CLI, whole
    processes, against the CLI's start (``status`` of a one-node pipeline: target 3's start) and
    against ``nodepipe history`` (a command still loading the full store layer, SQLAlchemy);
(c) after one real run of every node (``--jobs 2``: minutes at 10,000 nodes): ``status`` and a
    no-change ``run`` through the Python API, the same for a pipeline of N/10 nodes so the
    ratio shows how they grow; then as whole CLI processes (target < 1 s), each with its CPU,
    wall and peak memory: ``status`` cold (no node-check cache file) and warm, and a no-change
    ``run``, beside a floor measured in the same run (an interpreter that stats the same files).
    With ``--no-run``: the same for ``status`` of the never-run pipeline (every node
    fingerprinted, none run);
(d) ``GET /api/pipelines/{p}`` on a live server (target < 0.3 s), against ``GET /api/health``,
    and the server process's peak memory: the first GET once the server's watcher watches
    (every node checked), the next ones (nothing changed: the kept answer, and a 304 for the
    page's ``If-None-Match``), a GET after a write to the store (the answer built again, every
    node's check kept) and after one node's ``main.py`` was saved (that node checked again).
    ``--keep`` keeps the workspace built; ``--workspace PATH`` runs only (d) on it, or with
    ``--cli`` only (c)'s whole CLI processes (its pipeline ``big`` already run once).

Run with ``python -m tests.bench.bench_scale [--nodes N]``. Not a test: nothing here asserts a
time. The full run of (c) launches every node once: minutes at 10,000 nodes.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.api.live import server_thread
from tests.bench import fresh_bytecode, load
from tests.support.waiting import wait_for

import nodepipe
from nodepipe.cli.fork_client import SWITCH_ENV
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace import folder_memo
from nodepipe.workspace.check_cache import cache_file

LAYER = 100
PARENTS = 3
JOBS = 2
NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
SHARED = "trivial"


def median_seconds(
    action: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median seconds of ``action`` by ``clock`` (``time.process_time``: this process's CPU)."""
    samples = []
    for _ in range(repeat):
        start = clock()
        action()
        samples.append(clock() - start)
    return statistics.median(samples)


def layered(ws: nodepipe.Workspace, tag: str, count: int) -> tuple[float, list[float]]:
    """Build the layered DAG, a layer at a time: its nodes by one ``nodes.new_many``, its edges
    to the layer above by one ``edges.connect_many``. Returns the seconds spent making nodes,
    and the seconds each layer's ``connect_many`` took, in order."""
    ws.pipelines.new(tag)
    ids: list[str] = []
    creating = 0.0
    connects: list[float] = []
    for first in range(0, count, LAYER):
        tags = [f"n{j:05d}" for j in range(first, min(first + LAYER, count))]
        start = time.perf_counter()
        made = ws.nodes.new_many(tag, tags, shared_env=SHARED)
        creating += time.perf_counter() - start
        for node in made:  # the user's code (a trivial step); its folder by id, no query
            (ws.context.layout.node_folder(node.id).code / "main.py").write_text("pass\n")
            ids.append(node.id)
        if first == 0:
            continue
        above = first - LAYER
        links = [
            (ids[parent], ids[i])
            for i in range(first, len(ids))
            for parent in sorted({above + (i * k + k) % LAYER for k in (1, 7, 31)})[:PARENTS]
        ]
        start = time.perf_counter()
        ws.edges.connect_many(tag, links)
        connects.append(time.perf_counter() - start)
        if len(ids) % 1000 == 0:
            print(f"    ... {len(ids)} nodes", file=sys.stderr, flush=True)
    return creating, connects


GNU_TIME = Path("/usr/bin/time")


def whole_process(*argv: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak resident MB) of one command run as its own process.

    The peak is read through GNU ``time`` when it is installed: a child forked from this
    (large) process keeps this process's resident size as its high-water mark across
    ``exec``, so its own ``ru_maxrss`` overstates the command's peak by this process's size.
    The fork server is off (``NODEPIPE_FORK_SERVER=0``): a served command's work is done by a
    worker that is neither this process's child nor ``time``'s, whose CPU and peak would be
    missed (``bench_startup`` measures commands served).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak_file:
        wrapper = [str(GNU_TIME), "-f", "%M", "-o", peak_file.name] if GNU_TIME.is_file() else []
        start = time.perf_counter()
        process = subprocess.Popen(
            [*wrapper, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, SWITCH_ENV: "0"},
        )
        _, status, usage = os.wait4(process.pid, 0)
        took = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        assert process.returncode == 0, process.stderr.read() if process.stderr else b""
        peak = int(peak_file.read().split()[-1]) if wrapper else usage.ru_maxrss
    return took, usage.ru_utime + usage.ru_stime, peak / 1024


def cli_median(repeat: int, *argv: str) -> tuple[float, float, float]:
    """Medians of wall and CPU seconds, and the largest peak memory, of ``repeat`` runs."""
    samples = [whole_process(*argv) for _ in range(repeat)]
    return (
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples),
        max(s[2] for s in samples),
    )


def build_figures(ws: nodepipe.Workspace, count: int) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    creating, connects = layered(ws, "big", count)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    window = max(1, min(10, len(connects) // 3))
    first = statistics.median(connects[:window]) * 1000
    last = statistics.median(connects[-window:]) * 1000
    print(
        f"(a) build {count} nodes, ~{PARENTS} parents each, Python API: {took:8.1f} s"
        f" (CPU {cpu:.1f} s; load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"    of which making the nodes, {LAYER} per nodes.new_many: {creating:6.1f} s"
        f" ({creating / count * 1000:.1f} ms a node); the edges, a layer per"
        f" edges.connect_many: {sum(connects):6.1f} s"
    )
    print(
        f"    connect_many of a layer, first {window}: {first:6.1f} ms"
        f"   last {window}: {last:6.1f} ms"
    )
    print(f"    ratio last / first: {last / first:5.2f}x (linear edits: about 1)")


def cli_edit_figures(ws: nodepipe.Workspace, count: int) -> None:
    """(b) A CLI edit against two floors measured here: the CLI's start (target 3's: ``status``
    of a one-node pipeline of the same workspace, which opens the store by the light read path)
    and ``history``, a command that still loads the full store layer (SQLAlchemy), as an edit
    did before it went through sqlite3. The target is the first: the CLI's start + 20 ms."""
    root = str(ws.root)
    ws.pipelines.new("start")
    ws.nodes.new_many("start", ["only"], shared_env=SHARED)
    start, start_cpu, _ = cli_median(5, NODEPIPE, "--workspace", root, "status", "start")
    store, store_cpu, _ = cli_median(5, NODEPIPE, "--workspace", root, "history", "start")
    parent, child = "n00000", f"n{count - 1:05d}"

    edits = []
    for _ in range(5):  # connect, then disconnect: the pipeline is as before each time
        for verb in ("connect", "disconnect"):
            edits.append(
                whole_process(NODEPIPE, "--workspace", root, verb, parent, child, "-p", "big")
            )
    wall = statistics.median(e[0] for e in edits) * 1000
    cpu = statistics.median(e[1] for e in edits) * 1000
    over = cpu - start_cpu * 1000
    print(f"(b) CLI connect or disconnect in {count} nodes: wall {wall:7.1f} ms, CPU {cpu:6.1f} ms")
    print(
        f"    CLI start (status of a 1-node pipeline): wall {start * 1000:6.1f} ms, CPU"
        f" {start_cpu * 1000:5.1f} ms; the edit adds {over:5.1f} ms of CPU (target ≤ 20 ms:"
        f" {'met' if over <= 20 else 'not met'})"
    )
    print(
        f"    a command loading the full store layer (history): wall {store * 1000:6.1f} ms,"
        f" CPU {store_cpu * 1000:5.1f} ms; the edit adds {cpu - store_cpu * 1000:5.1f} ms over it"
    )


def run_figures(ws: nodepipe.Workspace, count: int) -> None:
    start = time.perf_counter()
    ws.runs.run(RunRequest("big", jobs=JOBS))
    print(f"(c) first run of all {count} nodes, --jobs {JOBS}: {time.perf_counter() - start:.1f} s")
    os.sync()
    small = max(count // 10, LAYER * 2)
    layered(ws, "small", small)
    ws.runs.run(RunRequest("small", jobs=JOBS))
    for name, action in (
        ("status", lambda tag: ws.runs.status(tag)),
        ("no-change run", lambda tag: ws.runs.run(RunRequest(tag, jobs=JOBS))),
    ):
        big = median_seconds(lambda action=action: action("big"), 3)
        little = median_seconds(lambda action=action: action("small"), 3)
        cpu = median_seconds(lambda action=action: action("big"), 3, time.process_time)
        print(
            f"    {name:14} Python API: {big:6.2f} s (CPU {cpu:5.2f} s) at {count} nodes,"
            f" {little:6.2f} s at {small}: {big / little:5.1f}x for {count / small:.0f}x the nodes"
        )
    cli_figures(ws, count, ran=True)


def never_run_status_figures(ws: nodepipe.Workspace, count: int) -> None:
    """With ``--no-run``: ``status`` of the never-run pipeline (each node fingerprinted, none
    launched) through the Python API, warm, then as whole CLI processes."""
    ws.runs.status("big")  # the caches of this process fill
    warm = median_seconds(lambda: ws.runs.status("big"), 3, time.process_time)
    print(f"(c) status of the {count} never-run nodes, Python API, warm: CPU {warm:5.2f} s")
    cli_figures(ws, count, ran=False)


FLOOR = """
import os, sys
for node in os.scandir(os.path.join(sys.argv[1], "nodes")):
    os.access(os.path.join(node.path, "links.toml"), os.F_OK)
    os.stat(node.path + "/code")
    for entry in os.scandir(node.path + "/code"):
        entry.stat()
"""
"""The floor of a warm status: an interpreter that looks at the same files (each node's links
file, its code/ folder and the stat of each entry in it), and does nothing else."""


def cli_figures(ws: nodepipe.Workspace, count: int, ran: bool) -> None:
    """``status`` cold (no node-check cache file; the per-node hash caches stay, as after an
    upgrade) and warm, and with ``ran`` a no-change ``run``, each as whole CLI processes,
    beside the floor measured in the same run (target < 1 s)."""
    root = str(ws.root)
    bare = cli_median(5, sys.executable, "-c", "pass")
    floor = cli_median(3, sys.executable, "-c", FLOOR, root)
    cache = cache_file(ws.context.layout.state_dir)
    cache.unlink(missing_ok=True)
    figures = [("status, cold", whole_process(NODEPIPE, "-w", root, "status", "big"))]
    figures.append(("status, warm", cli_median(3, NODEPIPE, "-w", root, "status", "big")))
    if ran:
        figures.append(("no-change run", cli_median(3, NODEPIPE, "-w", root, "run", "big")))
    print(
        f"    whole CLI processes, {count} nodes (cold: without {cache.name}; target < 1 s in"
        f" wall time on a quiet machine; {load()}):"
    )
    for name, (took, cpu, peak) in figures:
        print(
            f"    {name:14} wall {took:6.2f} s, CPU {cpu:6.2f} s, peak {peak:5.0f} MB;"
            f" {cpu / floor[1]:5.1f}x the floor's CPU"
        )
    print(
        f"    floor: python -c pass CPU {bare[1] * 1000:5.1f} ms; an interpreter stat'ing each"
        f" node's links file, code/ and its entries: wall {floor[0]:5.2f} s,"
        f" CPU {floor[1]:5.2f} s, peak {floor[2]:4.0f} MB"
    )


def api_figures(ws: nodepipe.Workspace, count: int) -> None:
    # every node's check is redone once a minute (folder_memo.TRUST_SECONDS: inotify may drop
    # events unseen); at 10,000 nodes this bench outlasts that minute, and a GET after it
    # would measure that recheck instead of the change: trusted for an hour here
    folder_memo.TRUST_SECONDS = 3600.0
    with (
        server_thread(ws) as live,
        httpx.Client(base_url=live.url, headers=live.headers, timeout=None) as client,
    ):
        wait_for(lambda: ws.context.folder_memo.armed, "the node folders' watcher to watch")

        def graph(etag: str = "") -> httpx.Response:
            headers = {"If-None-Match": etag} if etag else {}
            answer = client.get("/api/pipelines/big", headers=headers)
            if answer.status_code != 304:
                answer.raise_for_status()
            return answer

        health = median_seconds(lambda: client.get("/api/health").raise_for_status(), 20)
        # the first GET computes every node's state from cold (the server's caches fill)
        cold = median_seconds(graph, 1)
        etag = graph().headers["etag"]
        kept = median_seconds(graph, 5)
        kept_cpu = median_seconds(graph, 5, time.process_time)
        unchanged = median_seconds(lambda: graph(etag), 5)
        unchanged_cpu = median_seconds(lambda: graph(etag), 5, time.process_time)
        last = ws.nodes.list("big")[-1].id
        notes = iter(range(1_000_000))

        def written() -> None:  # a write to the store (another connection): built again
            ws.nodes.notes(last, f"note {next(notes)}", "big")
            graph()

        annotate = median_seconds(lambda: ws.nodes.notes(last, "alone", "big"), 5)
        rebuilt = median_seconds(written, 5) - annotate
        rebuilt_cpu = median_seconds(written, 5, time.process_time) - median_seconds(
            lambda: ws.nodes.notes(last, "alone", "big"), 5, time.process_time
        )
        main_py = ws.nodes.path(last) / "code" / "main.py"
        edits = iter(range(1_000_000))

        def edited() -> None:
            main_py.write_text(f"# edit {next(edits)}\n")
            graph()

        after_edit = median_seconds(edited, 5)
        after_edit_cpu = median_seconds(edited, 5, time.process_time)
        changes = changed_figures(ws, graph)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        body = graph().content
    print(
        f"(d) GET /api/pipelines/big, {count} nodes (target < 300 ms; CPU: the bench's"
        " process, server, watcher and client):"
    )
    print(
        f"    nothing changed (the kept answer): {kept * 1000:7.1f} ms, CPU"
        f" {kept_cpu * 1000:.1f} ms; with the page's If-None-Match (304, no body):"
        f" {unchanged * 1000:.1f} ms, CPU {unchanged_cpu * 1000:.1f} ms"
    )
    print(
        f"    built again after a write to the store (a node's notes; the write itself"
        f" subtracted): {rebuilt * 1000:7.1f} ms, CPU {rebuilt_cpu * 1000:.1f} ms; after one"
        f" node's main.py was saved {after_edit * 1000:.1f} ms, CPU {after_edit_cpu * 1000:.1f}"
        f" ms; the first one {cold:.1f} s"
    )
    whole_cpu = changes["a whole build (view + JSON, in process)"][1]
    print(
        "    after one change, the change not timed (computed again only where it reaches;"
        f" floors: GET /api/health {health * 1000:.1f} ms, and a whole build's CPU):"
    )
    for name, (wall, cpu) in changes.items():
        print(
            f"      {name:40} {wall * 1000:7.1f} ms, CPU {cpu * 1000:6.1f} ms"
            f" ({cpu / whole_cpu:4.2f}x a whole build's CPU, {wall / health:5.0f}x health's wall)"
        )
    print(
        f"    GET /api/health {health * 1000:.1f} ms; server process peak {peak:.0f} MB; the"
        f" answer: {len(body) / 1e6:.1f} MB of JSON, {len(gzip.compress(body, 6)) / 1e6:.2f}"
        " MB gzipped (what a compressing proxy would send)"
    )


def changed_figures(
    ws: nodepipe.Workspace, graph: Callable[[], httpx.Response]
) -> dict[str, tuple[float, float]]:
    """Wall and CPU of the GET after each kind of change (medians of 3; the change is made
    before the clock starts), beside a whole build of the same view in this process (every
    node computed, every check kept: what each of those GETs cost before)."""
    from nodepipe.schemas.graph_json import pipeline_graph_json
    from nodepipe.services.gc_pause import gc_paused

    def whole() -> None:
        with gc_paused():
            pipeline_graph_json(ws.pipelines.show("big", True))

    nodes = ws.nodes.list("big")
    first, last = nodes[0].id, nodes[-1].id
    main_py = ws.nodes.path(nodes[len(nodes) // 2].id) / "code" / "main.py"
    edits, linked = iter(range(1_000_000)), [False]

    def save() -> None:
        main_py.write_text(f"# saved {next(edits)}\n")

    def run_one() -> None:
        ws.runs.run(RunRequest("big", only=[first], force=True))

    def edge() -> None:
        if linked[0]:
            ws.edges.disconnect(first, last, "big")
        else:
            ws.edges.connect(first, last, "big")
        linked[0] = not linked[0]

    def after(change: Callable[[], object]) -> tuple[float, float]:
        samples = []
        for _ in range(3):
            change()
            wall, cpu = time.perf_counter(), time.process_time()
            graph()
            samples.append((time.perf_counter() - wall, time.process_time() - cpu))
        return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)

    whole_wall = median_seconds(whole, 3)
    whole_cpu = median_seconds(whole, 3, time.process_time)
    figures = {
        "a whole build (view + JSON, in process)": (whole_wall, whole_cpu),
        "after one node's main.py was saved": after(save),
        "after a run of one node": after(run_one),
        "after one edge added or removed": after(edge),
    }
    if linked[0]:
        ws.edges.disconnect(first, last, "big")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000, help="nodes of the big pipeline")
    parser.add_argument("--dir", help="where the scratch workspace goes (default: the temp dir)")
    parser.add_argument("--no-run", action="store_true", help="skip (c): no node is launched")
    parser.add_argument(
        "--keep", action="store_true", help="keep the workspace built (its path is printed)"
    )
    parser.add_argument(
        "--workspace", help="only (d), on a workspace an earlier --keep run built (its path)"
    )
    parser.add_argument(
        "--cli", action="store_true", help="with --workspace: only (c)'s whole CLI processes"
    )
    arguments = parser.parse_args()
    fresh_bytecode()
    if arguments.workspace:
        ws = nodepipe.open(Path(arguments.workspace))
        if arguments.cli:
            cli_figures(ws, len(ws.nodes.list("big")), ran=True)
        else:
            api_figures(ws, len(ws.nodes.list("big")))
        ws.close()
        return
    scratch = tempfile.mkdtemp(prefix="nodepipe-bench-", dir=arguments.dir)
    try:
        ws = nodepipe.init(Path(scratch) / "lab")
        ws.shared_envs.new(SHARED)
        build_figures(ws, arguments.nodes)
        cli_edit_figures(ws, arguments.nodes)
        if arguments.no_run:
            never_run_status_figures(ws, arguments.nodes)
        else:
            run_figures(ws, arguments.nodes)
        api_figures(ws, arguments.nodes)
        ws.close()
    finally:
        if arguments.keep:
            print(f"the workspace is kept: --workspace {Path(scratch) / 'lab'}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
