"""Kill -9 while `doctor --objects --keep 1 --collect` prunes and collects the run object store:
nothing a kept run record names is lost (every content it names can be read, at once, before
any other command), an older run is either whole or said to be pruned, and the next
collection finishes the job leaving nothing aside.

Each collection runs as a real ``nodepipe`` process on a copy of one workspace, killed at each
crash point on its path (after the store was pruned; between moving a content aside and
removing it, for the first three) and at seeded random moments.
"""

from __future__ import annotations

import random
import shutil
import signal
from pathlib import Path

import pytest

import nodepipe
from faults.test_kill_anywhere import kill_at_random, start, uv_offline
from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.objects import COLLECTING, ObjectStore
from support.wheels import toy_index

RANDOM_KILLS = 3
COLLECT = ("doctor", "--objects", "--keep", "1", "--collect", "--grace", "0", "--yes")
POINTS = ("objects.pruned", "objects.collecting", "objects.collecting@2", "objects.collecting@3")


@pytest.fixture(scope="module")
def offline_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_index(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, offline_wheels: Path
) -> tuple[Path, str, str]:
    """Pipeline ``base``: a → b, both ran twice (b's code changed between); node c ran once and
    was removed. Returns (root, the first run, the second)."""
    root = tmp_path_factory.mktemp("template") / "lab"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in uv_offline(offline_wheels).items():
            patch.setenv(key, value)
        ws = nodepipe.init(root)
        ws.pipelines.new("base")
        for tag in ("a", "b", "c"):
            ws.nodes.new("base", tag)
            (ws.nodes.path(tag) / "code" / "notes.txt").write_text(f"notes of {tag}\n" * 50)
        ws.edges.connect("a", "b", "base")
        first = ws.runs.run(RunRequest("base")).run_id
        (ws.nodes.path("b") / "code" / "main.py").write_text("print('second')\n")
        second = ws.runs.run(RunRequest("base", force=True)).run_id
        ws.nodes.delete(["c"], "base")
        ws.close()
    assert first is not None and second is not None
    return root, first, second


def kept_records_readable(root: Path, runs: tuple[str, str]) -> bool:
    """Every content a kept record names reads back whole; True when b's first run was
    pruned (its restore says so), False when it is still whole."""
    objects = ObjectStore(root / ".nodepipe" / "objects")
    with nodepipe.open(root) as ws:
        for run in runs:
            for tag in ("a", "b"):
                try:
                    past = ws.run_envs.show(tag, run)
                except InvalidInputError as exc:
                    assert "was pruned" in str(exc), exc
                    continue
                for digest in [past.code, *past.files.values(), *past.locks.values()]:
                    objects.read(digest)  # MissingObjectError if it was lost
        try:
            ws.run_envs.show("b", runs[0])
        except InvalidInputError:
            return True
    return False


def test_a_killed_collection_loses_nothing_a_kept_run_names(
    template: tuple[Path, str, str], offline_wheels: Path, tmp_path: Path
) -> None:
    source, *runs = template
    first, second = runs
    env = uv_offline(offline_wheels)
    generator = random.Random("nodepipe-object-collect")
    killed = 0
    for attempt, point in enumerate([*POINTS, *[None] * RANDOM_KILLS]):
        root = tmp_path / f"attempt{attempt}" / "lab"
        shutil.copytree(source, root, symlinks=True)
        if point is not None:
            process = start(root, COLLECT, {**env, "NODEPIPE_CRASH_AT": point})
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == -signal.SIGKILL, f"{point} not reached: {stderr!r}"
            killed += 1
        else:
            killed += kill_at_random(start(root, COLLECT, env), generator.uniform(0.05, 1.5))
        kept_records_readable(root, (first, second))  # right after the kill, nothing settled
        finished = start(root, COLLECT, env)
        _, stderr = finished.communicate(timeout=300)
        assert finished.returncode == 0, stderr
        assert kept_records_readable(root, (first, second)), "b's first run was not pruned"
        left = [p for p in (root / ".nodepipe" / "objects").rglob(f"{COLLECTING}*")]
        assert left == [], f"left aside: {left}"
        with nodepipe.open(root) as ws:
            assert ws.run_envs.show("b", second).files
        shutil.rmtree(root)
    print(f"\nobject collection: {killed} kills, nothing a kept run names was lost")
    assert killed >= len(POINTS)
