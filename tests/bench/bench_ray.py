"""Benchmark (c): the fan-out pipeline of ``bench_runs`` on a local Ray cluster, against local.

The same pipeline (a source and 50 trivial children), the same parallelism, measured in the
same run: with the local executor, with the Ray executor connecting for each run (what one
``nodepipe run --executor ray`` command pays), and with the Ray executor while the process keeps
a connection open (a long-lived process such as the web app; target ≤ 1.3x local), whose
first run (it starts the new connection's workers) is printed on its own, not in the median.
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
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.bench import load, paired
from tests.bench.bench_runs import FAN_OUT, JOBS, build
from tests.support.ray_cluster import RayCluster, inside_namespace, run_in_namespace

import nodepipe
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


def measure(ws: nodepipe.Workspace, cluster: RayCluster) -> tuple[dict[str, float], str]:
    """Median seconds of the unpaired figures, and the kept connection paired with local."""
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
        # a new connection is a new Ray job: its first run starts the job's workers
        start = time.perf_counter()
        run("ray")
        figures["ray, first run of a connection"] = time.perf_counter() - start
        kept = paired(on_ray, lambda: run("local"), PAIRS, own=True)
    finally:
        ray.shutdown()
    return figures, kept


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
        figures, kept = measure(ws, cluster)
        ws.close()
    local = figures["local executor"]
    print(f"(c) fan-out run of {FAN_OUT + 1} trivial nodes, --jobs {JOBS}, Ray with {JOBS} CPUs")
    for name, seconds in figures.items():
        print(f"    {name:32} {seconds:7.3f} s   ratio to local {seconds / local:5.2f}x")
    print(f"    ray, connection kept open, alternated with local ({PAIRS} pairs), {load()}:")
    print(f"        {kept}")


if __name__ == "__main__":
    main()
