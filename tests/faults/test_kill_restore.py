"""Kill -9 while restoring a past run: `env restore` leaves the old environment or the
restored one, never a mix; `node restore` leaves a whole new node or none.

Each restore runs as a real ``nodepipe`` process on a copy of one workspace and is killed at
each crash point on its path and at seeded random moments (the whole process group, uv
included). The next command (``nodepipe status``) settles what was left; then the invariants
below must hold.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import nodepipe
from faults.test_kill_anywhere import (
    kill_at_random,
    next_command,
    rows,
    start,
    uv_offline,
)
from nodepipe.services.runs.service import RunRequest
from support.wheels import toy_index

RANDOM_KILLS = 4
OPERATIONS = {
    "env-restore": (
        ("env", "restore", "b", "--run", "{first}"),
        ("edit.saved", "sync.built", "sync.swapping", "edit.edited"),
    ),
    "node-restore": (
        ("node", "restore", "b", "--run", "{first}", "--as", "b-then"),
        ("folders.recorded", "folders.moved", "folders.synced", "folders.committed"),
    ),
}


@pytest.fixture(scope="module")
def offline_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_index(tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, offline_wheels: Path) -> tuple[Path, str]:
    """Pipeline ``base``: a → b; b ran with toypkg, then with otherpkg added: (root, first run)."""
    root = tmp_path_factory.mktemp("template") / "lab"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in uv_offline(offline_wheels).items():
            patch.setenv(key, value)
        ws = nodepipe.init(root)
        ws.pipelines.new("base")
        for tag in ("a", "b"):
            ws.nodes.new("base", tag)
        ws.edges.connect("a", "b", "base")
        ws.envs.add("b", ["toypkg==1.0"])
        first = ws.runs.run(RunRequest("base")).run_id
        ws.envs.add("b", ["otherpkg==0.1"])
        (ws.nodes.path("b") / "code" / "main.py").write_text("print('second')\n")
        ws.runs.run(RunRequest("base"))
        ws.close()
    assert first is not None
    return root, first


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_invariants(root: Path, template: Path, first: str) -> None:
    found = rows(root)[0]
    assert {p.name for p in (root / "nodes").iterdir()} == {r.id for r in found}, "orphans"
    assert list((root / ".nodepipe" / "staging").iterdir()) == [], "journal leftovers"
    with nodepipe.open(root) as ws:
        past = ws.run_envs.show("b", first)
        b = next(r for r in found if r.tag == "b")
        code = root / "nodes" / b.id / "code"
        assert not list(code.glob(".venv.*")), "environment leftovers"
        old = template / "nodes" / b.id / "code"
        project = {name: (code / name).read_bytes() for name in ("pyproject.toml", "uv.lock")}
        was = {name: (old / name).read_bytes() for name in project}
        restored = sha256(code / "uv.lock") == past.locks["uv"]
        assert project == was or restored, "pyproject.toml and uv.lock are a mix"
        if restored:
            assert sha256(code / "pyproject.toml") == past.files["pyproject.toml"]
        if ws.context.environments.is_synced(code):  # a trusted environment matches its lock
            has_other = (
                subprocess.run(
                    [str(code / ".venv" / "bin" / "python"), "-c", "import otherpkg"], check=False
                ).returncode
                == 0
            )
            assert has_other == (b"otherpkg" in project["uv.lock"]), "environment and lock differ"
        for made in (r for r in found if r.tag == "b-then"):  # a new node is whole
            new_code = root / "nodes" / made.id / "code"
            assert sha256(new_code / "main.py") == past.files["main.py"]
            assert sha256(new_code / "uv.lock") == past.locks["uv"]
            assert [(i.slot, i.tag) for i in ws.nodes.show(made.id).inputs] == [("01", "a")]


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_kill_during_a_restore_leaves_the_old_or_the_new_never_half(
    name: str, template: tuple[Path, str], offline_wheels: Path, tmp_path: Path
) -> None:
    source, first = template
    argv, points = OPERATIONS[name]
    argv = tuple(part.format(first=first) for part in argv)
    env = uv_offline(offline_wheels)
    generator = random.Random(f"nodepipe-{name}")
    killed = 0
    for attempt, point in enumerate([*points, *[None] * RANDOM_KILLS]):
        root = tmp_path / f"attempt{attempt}" / "lab"
        shutil.copytree(source, root, symlinks=True)
        if point is not None:
            process = start(root, argv, {**env, "NODEPIPE_CRASH_AT": point})
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == -signal.SIGKILL, f"{point} not reached: {stderr!r}"
            killed += 1
        else:
            killed += kill_at_random(start(root, argv, env), generator.uniform(0.05, 2.0))
        next_command(root, env)
        check_invariants(root, source, first)
        shutil.rmtree(root)
    print(f"\n{name}: {killed} kills, all left the old state or the new one")
    assert killed >= len(points)
