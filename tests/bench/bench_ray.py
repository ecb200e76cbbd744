"""Benchmark (c): the fan-out pipeline of ``bench_runs`` on a local Ray cluster, against local.

The same pipeline (a source and 50 trivial children), the same parallelism, measured in the
same run: with the local executor, with the Ray executor connecting for each run (what one
``nodepipe run --executor ray`` command pays), and with the Ray executor while the process keeps
a connection open (a long-lived process such as the web app; target ≤ 1.3x local), whose
first run (it starts the new connection's workers) is printed on its own, not in the median.
Beside it, Ray's own floor (``ray_by_hand``): the same launches made by warm Ray actors, one
call each, against the fan-out by hand locally; what any Ray executor adds before doing its
own work.
The kept connection's runs alternate with local runs (``tests.bench.paired``: the load changes
from one second to the next, so each Ray run is divided by the local run just before it), in
wall time and in CPU: Ray's CPU is that of every process of the namespace but this one (Ray's
daemons and workers, with the node processes the workers waited for).

Ray runs in private network and PID namespaces, like in the tests (``tests.support.ray_cluster``):
``python -m tests.bench.bench_ray`` re-executes itself inside them. Needs root (as in CI) and the
``ray`` extra. Nothing here asserts a time.
"""

from __future__ import annotations

import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.bench import load, paired
from tests.bench.bench_runs import FAN_OUT, JOBS, build
from tests.support.ray_cluster import RayCluster, inside_namespace, run_in_namespace

import nodepipe
from nodepipe.execution.warm_start import SWITCH_ENV as WARM_SWITCH
from nodepipe.services.runs.service import RunRequest, RunService

REPEAT = 5
PAIRS = 7


def timed(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def others_cpu() -> float:
    """CPU seconds so far of every process of the namespace but this one, with the children
    each waited for (clock ticks of ``/proc/PID/stat``)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        ticks += sum(int(field) for field in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def ray_by_hand(ws: nodepipe.Workspace) -> list[tuple[str, str]]:
    """The least a Ray executor does, against the local fan-out by hand: the same 51 launches
    of the node's interpreter made by warm Ray actors (one per slot, ``JOBS`` CPUs), each
    launch one actor call; with one call in flight per actor (a node handed to a slot once it
    is idle, as nodepipe does), and with all calls queued on the actors at once (round robin,
    no look at which actor is free: the best case of queueing ahead, unfair to nodes of
    different lengths); and, from a thread per slot as the executor follows its slots, with a
    plain call (as a slot answers now) against a streaming call of two items (the process's
    start, then its end), as a slot answered before. Needs a connection (``ray.init``); the
    actors are gone on return."""
    import ray

    source = ws.nodes.get("source", "fan")
    python = str(ws.nodes.path(source.id) / "code" / ".venv" / "bin" / "python")
    main = str(ws.nodes.path(source.id) / "code" / "main.py")

    def launch() -> int:
        return subprocess.run([python, main], check=True).returncode

    @ray.remote(num_cpus=1)
    class Launcher:
        def launch(self) -> int:
            return launch()

        @ray.method(num_returns="streaming")  # type: ignore[untyped-decorator]
        def launch_streaming(self) -> Iterator[int]:
            """As a slot answers: the process's start, then its end."""
            started = subprocess.Popen([python, main])
            yield started.pid
            yield started.wait()

    actors = [Launcher.remote() for _ in range(JOBS)]  # type: ignore[attr-defined]
    ray.get([actor.launch.remote() for actor in actors])  # started, their imports done

    def local() -> None:
        launch()
        with ThreadPoolExecutor(JOBS) as pool:
            list(pool.map(lambda _: launch(), range(FAN_OUT)))

    def one_in_flight() -> float:
        before = others_cpu()
        ray.get(actors[0].launch.remote())
        idle, running, left = list(actors), {}, FAN_OUT
        while left or running:
            while idle and left:
                actor = idle.pop()
                running[actor.launch.remote()] = actor
                left -= 1
            done, _ = ray.wait(list(running), num_returns=1)
            ray.get(done)
            idle += [running.pop(ref) for ref in done]
        return others_cpu() - before

    def queued_ahead() -> float:
        before = others_cpu()
        ray.get(actors[0].launch.remote())
        ray.get([actors[i % JOBS].launch.remote() for i in range(FAN_OUT)])
        return others_cpu() - before

    def from_threads(streaming: bool) -> Callable[[], float]:
        """One call in flight per actor, each made by a thread and waited for there (as the
        executor follows a slot's node): a plain call, or a streaming one read to its end."""

        def call(actor: Any) -> None:
            if streaming:
                for item in actor.launch_streaming.remote():
                    ray.get(item)
            else:
                ray.get(actor.launch.remote())

        def fan_out() -> float:
            before = others_cpu()
            call(actors[0])
            idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
            for actor in actors:
                idle.put(actor)

            def one(_: int) -> None:
                actor = idle.get()
                call(actor)
                idle.put(actor)

            with ThreadPoolExecutor(JOBS) as pool:
                list(pool.map(one, range(FAN_OUT)))
            return others_cpu() - before

        return fan_out

    try:
        return [
            ("one call in flight per actor", paired(one_in_flight, local, PAIRS, own=True)),
            ("all calls queued at once", paired(queued_ahead, local, PAIRS, own=True)),
            ("from threads, plain calls", paired(from_threads(False), local, PAIRS, own=True)),
            ("from threads, streaming calls", paired(from_threads(True), local, PAIRS, own=True)),
        ]
    finally:
        for actor in actors:
            ray.kill(actor)
        for _ in range(100):  # their CPUs back before nodepipe's slots ask for them
            if ray.available_resources().get("CPU", 0) >= JOBS:
                break
            time.sleep(0.1)


def measure(
    ws: nodepipe.Workspace, cluster: RayCluster
) -> tuple[dict[str, float], tuple[str, str], list[tuple[str, str]]]:
    """Median seconds of the unpaired figures, the kept connection paired with local (node
    processes forked warm, then started from nothing), and Ray by hand paired with the
    fan-out by hand."""
    import ray

    runs = RunService(ws.context)

    def run(executor: str) -> None:
        request = RunRequest(
            "fan", jobs=JOBS, force=True, executor=executor, ray_address=cluster.address
        )
        finished = runs.run(request).finished
        assert finished is not None and finished.status == "completed", finished

    def on_ray() -> float:
        """A run on the kept connection; the CPU its Ray processes spent."""
        before = others_cpu()
        run("ray")
        return others_cpu() - before

    figures = {
        "local executor": timed(lambda: run("local")),
        "ray, connecting per run": timed(lambda: run("ray")),
    }
    ray.init(address=cluster.address, log_to_driver=False, include_dashboard=False)
    try:
        by_hand = ray_by_hand(ws)
        # a new connection is a new Ray job: its first run starts the job's workers
        start = time.perf_counter()
        run("ray")
        figures["ray, first run of a connection"] = time.perf_counter() - start
        kept = paired(on_ray, lambda: run("local"), PAIRS, own=True)
        os.environ[WARM_SWITCH] = "0"  # read where each task is made: both executors follow it
        try:
            kept_cold = paired(on_ray, lambda: run("local"), PAIRS, own=True)
        finally:
            del os.environ[WARM_SWITCH]
    finally:
        ray.shutdown()
    return figures, (kept, kept_cold), by_hand


def main() -> None:
    if not inside_namespace():
        result = run_in_namespace([sys.executable, "-m", "tests.bench.bench_ray"], capture=False)
        raise SystemExit(result.returncode)
    with (
        RayCluster(num_cpus=JOBS) as cluster,
        tempfile.TemporaryDirectory(prefix="nodepipe-bench-") as scratch,
    ):
        ws = nodepipe.init(Path(scratch) / "lab")
        build(ws, "fan", FAN_OUT)
        RunService(ws.context).run(RunRequest("fan", jobs=JOBS))  # environments checked once
        figures, kept, by_hand = measure(ws, cluster)
        ws.close()
    local = figures["local executor"]
    print(f"(c) fan-out run of {FAN_OUT + 1} trivial nodes, --jobs {JOBS}, Ray with {JOBS} CPUs")
    for name, seconds in figures.items():
        print(f"    {name:32} {seconds:7.3f} s   ratio to local {seconds / local:5.2f}x")
    print(f"    ray, connection kept open, alternated with local ({PAIRS} pairs), {load()}:")
    print(f"        {kept[0]}")
    print(f"      the same, every node process started from nothing on both ({WARM_SWITCH}=0):")
    print(f"        {kept[1]}")
    print("    Ray's own floor: the fan-out by hand on warm Ray actors, against it locally:")
    for label, figure in by_hand:
        print(f"      {label:30}{figure}")


if __name__ == "__main__":
    main()
