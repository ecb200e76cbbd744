"""Benchmark: workers without a shared filesystem, against the shared-filesystem Ray path and
local, in one run.

(a) The fan-out of ``bench_runs`` (a source and 50 trivial children, --jobs 2): locally; on
    Ray with the workspace shared (a head with the CPUs); on Ray without it (a head without CPUs
    and one worker that cannot see the workspace: a mount namespace hides it), the storage a
    local folder, the worker's environments and object cache warm (one run before timing).
(b) One node's first task on a cold worker (its scratch folder, uv cache and environments
    emptied: code downloaded, environment synced from the lock) beside ``uv sync --frozen`` of
    the same lock into a new environment with an empty uv cache.

Ray runs in private network and PID namespaces as in the tests: ``python -m
tests.bench.bench_remote`` re-executes itself inside them. Needs root (as in CI) and the ``ray``
extra. Nothing here asserts a time.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.bench.bench_runs import FAN_OUT, JOBS, build
from tests.support.ray_cluster import RayCluster, inside_namespace, run_in_namespace

import nodepipe
from nodepipe.services.runs.service import RunRequest, RunService

REPEAT = 3


def timed(action: Callable[[], object], repeat: int = REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(ws: nodepipe.Workspace, pipeline: str, **options: object) -> None:
    request = RunRequest(pipeline, jobs=JOBS, force=True, **options)  # type: ignore[arg-type]
    finished = RunService(ws.context).run(request).finished
    assert finished is not None and finished.status == "completed", finished


def uv_sync_cold(code: Path, scratch: Path) -> float:
    """``uv sync --frozen`` of ``code``'s lock into a new environment, empty uv cache."""
    project = scratch / "uv-sync"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(code / name, project / name)
    uv = Path(sys.executable).with_name("uv")
    start = time.perf_counter()
    subprocess.run(
        [str(uv), "sync", "--frozen", "--quiet", "--cache-dir", str(project / "cache")],
        cwd=project,
        check=True,
        env={"PATH": "/usr/bin:/bin", "UV_PYTHON": sys.base_prefix + "/bin/python3"},
    )
    return time.perf_counter() - start


def main() -> None:
    if not inside_namespace():
        argv = [sys.executable, "-m", "tests.bench.bench_remote"]
        raise SystemExit(run_in_namespace(argv, capture=False).returncode)
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        ws = nodepipe.init(scratch / "hidden" / "lab")
        build(ws, "fan", FAN_OUT)
        ws.pipelines.new("one")
        ws.nodes.new("one", "solo")
        run(ws, "fan")  # environments checked once
        figures: dict[str, float] = {"local executor": timed(lambda: run(ws, "fan"))}
        with RayCluster(num_cpus=JOBS) as cluster:
            shared = {"executor": "ray", "ray_address": cluster.address}
            run(ws, "fan", **shared)
            figures["ray, shared filesystem"] = timed(lambda: run(ws, "fan", **shared))
        worker = scratch / "worker"
        with RayCluster(num_cpus=0) as cluster:
            env = {"NODEPIPE_WORKER_DIR": str(worker)}
            cluster.add_worker(JOBS, scratch / "hidden", {"remote": JOBS}, env)
            remote = {
                "executor": "ray",
                "ray_address": cluster.address,
                "shared_fs": False,
                "storage": str(scratch / "bucket"),
            }
            run(ws, "fan", **remote)  # warm: the worker has the environment and the code
            figures["ray, no shared fs (warm)"] = timed(lambda: run(ws, "fan", **remote))

            def cold() -> None:
                shutil.rmtree(worker, ignore_errors=True)
                run(ws, "one", **remote)

            first_task = timed(cold)
            warm_task = timed(lambda: run(ws, "one", **remote))
        sync = timed(lambda: uv_sync_cold(ws.nodes.path("solo") / "code", scratch))
        ws.close()
    local = figures["local executor"]
    print(f"(a) fan-out run of {FAN_OUT + 1} trivial nodes, --jobs {JOBS}, Ray with {JOBS} CPUs")
    for name, seconds in figures.items():
        print(f"    {name:28} {seconds:7.3f} s   ratio to local {seconds / local:5.2f}x")
    print("(b) one node's first task on a cold worker (run included) vs uv sync --frozen, cold")
    print(f"    first task on a cold worker  {first_task:7.3f} s")
    print(f"    the same task, warm worker   {warm_task:7.3f} s   (cold - warm: the cold start)")
    print(f"    uv sync --frozen (cold cache) {sync:6.3f} s   ratio {first_task / sync:5.2f}x")


if __name__ == "__main__":
    main()
