"""Benchmark: ``package build`` and ``package pull`` of the demo pipeline, against their floors.

Run with ``python -m tests.bench.bench_packages`` (the demo's numpy wheels come from the
configured index once; everything after that is local: a pypiserver on loopback). Prints, all
measured in this run, best of ``REPEATS``:

- ``package build`` (export the bundle, lay the project, ``uv build`` of sdist then wheel)
  against ``uv build`` alone of the same project files, with the same flags;
- ``package pull NAME==VERSION`` from the local index into a workspace whose uv cache is warm,
  against ``uv pip install --target`` of the same wheel followed by ``uv sync --frozen`` of the
  same locks (copies of the bundle's node folders) with the same cache and parallelism;
- the ratio of each to its floor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' support package

import nodepipe
from nodepipe.envs.uv import UvRunner, uv_binary
from nodepipe.packaging.names import package_names
from nodepipe.packaging.project import REPRODUCIBLE_EPOCH, write_project
from nodepipe.services.bundles.importing import default_jobs
from nodepipe.services.demo import DEMO_PIPELINE, create_demo
from nodepipe.workspace.node_folder import COPY_IGNORED
from support.package_index import PASSWORD, USER, PackageIndex

REPEATS = 3


def best(action: Callable[[int], object]) -> float:
    """The best time of ``REPEATS`` runs (each given its round number)."""
    times = []
    for round_ in range(REPEATS):
        start = time.perf_counter()
        action(round_)
        times.append(time.perf_counter() - start)
    return min(times)


def raw_build(project: Path, out: Path, cache: Path) -> None:
    """``uv build`` of ``project`` exactly as ``package build`` runs it."""
    argv = [uv_binary(), "build", "--no-build-isolation", "--python", sys.executable]
    env = {**UvRunner(cache).environment(), "UV_OFFLINE": "1"}
    env["SOURCE_DATE_EPOCH"] = REPRODUCIBLE_EPOCH
    subprocess.run([*argv, "--out-dir", str(out), "--quiet"], cwd=project, env=env, check=True)


def raw_pull(requirement: str, index: str, where: Path, cache: Path, python: str) -> None:
    """``uv pip install --target`` of the wheel, then ``uv sync --frozen`` of its locks."""
    env = {**UvRunner(cache).environment(), "UV_LINK_MODE": "copy"}
    argv = [uv_binary(), "pip", "install", "--target", str(where / "installed"), "--no-deps"]
    argv += ["--python", sys.executable, "--index-url", index, "--quiet", requirement]
    subprocess.run(argv, env=env, check=True)
    bundle = next((where / "installed").glob("*/bundle"))
    folders = []
    for code in sorted(bundle.glob("nodes/*/code")):
        target = where / "nodes" / code.parent.name / "code"
        shutil.copytree(code, target, ignore=COPY_IGNORED)
        folders.append(target)
    sync_env = UvRunner(cache).environment()

    def sync(code: Path) -> None:
        argv = [uv_binary(), "sync", "--frozen", "--quiet", "--python", python]
        subprocess.run(argv, cwd=code, env=sync_env, check=True)

    with ThreadPoolExecutor(max_workers=default_jobs()) as pool:
        list(pool.map(sync, folders))


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        ws = create_demo(root / "demo")
        cache = ws.context.layout.uv_cache_dir
        built = best(lambda r: ws.packages.build(DEMO_PIPELINE, destination=root / f"dist{r}"))
        ws.bundles.export(DEMO_PIPELINE, root / "bundle", portable=True)
        project = write_project(
            root / "project", root / "bundle", package_names(DEMO_PIPELINE, None), "demo"
        )
        floor_build = best(lambda r: raw_build(project, root / f"raw{r}", cache))

        index = PackageIndex(root / "index").start()
        try:
            os.environ.update(TWINE_USERNAME=USER, TWINE_PASSWORD=PASSWORD)
            files = sorted((root / "dist0").iterdir())
            ws.packages.publish(files, repository_url=index.url)
            target = nodepipe.init(root / "target", python=ws.context.config.python)
            requirement = f"{DEMO_PIPELINE}==0.1.0"
            target.packages.pull(requirement, alias="warm", index_url=index.simple_url)
            pulled = best(
                lambda r: target.packages.pull(
                    requirement, alias=f"copy{r}", index_url=index.simple_url
                )
            )
            tcache = target.context.layout.uv_cache_dir
            python = target.context.config.python
            floor_pull = best(
                lambda r: raw_pull(requirement, index.simple_url, root / f"f{r}", tcache, python)
            )
        finally:
            index.stop()
        print(f"demo pipeline ({DEMO_PIPELINE}: 4 nodes, two numpy versions); best of {REPEATS}")
        print(f"package build:                    {built:7.3f} s")
        print(
            f"uv build of the same files:       {floor_build:7.3f} s   {built / floor_build:5.2f}x"
        )
        print(f"package pull (local index):       {pulled:7.3f} s")
        print(
            f"uv pip install + uv sync --frozen: {floor_pull:7.3f} s   {pulled / floor_pull:5.2f}x"
        )
        ws.close()
        target.close()


if __name__ == "__main__":
    main()
