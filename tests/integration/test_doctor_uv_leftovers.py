"""`nodepipe doctor` reports what a uv killed with its build left in uv's private temporary
folder (``.nodepipe/uv-tmp``: uv and the builds it runs get it as ``TMPDIR``), with its size
and age, and ``--repair`` removes it, but never what a uv running now or any live process may
be using, nor anything changed in the last hour."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import CliRunner
from support.waiting import wait_for
from support.wheels import local_project

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
SLOW_BUILD = """def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import tempfile, time, pathlib
    scratch = pathlib.Path(tempfile.mkdtemp())  # in $TMPDIR, as a real build's scratch is
    (scratch / "object.o").write_bytes(b"x" * 100000)
    pathlib.Path(os.environ["SLOW_BUILD_READY"]).write_text(str(scratch))
    time.sleep(120)
"""
THREE_HOURS = 3 * 3600


def doctor(cli: CliRunner, *options: str) -> dict[str, Any]:
    result = cli("doctor", *options, "--json")
    assert result.code == 0, result.stderr
    found: dict[str, Any] = result.json()
    return found


def of(report: dict[str, Any], category: str, key: str = "findings") -> list[dict[str, Any]]:
    return [f for f in report[key] if f["category"] == category]


def uv_tmp(ws: nodepipe.Workspace) -> Path:
    return ws.root / ".nodepipe" / "uv-tmp"


def age(path: Path, seconds: float) -> None:
    """Make ``path`` and all in it look last changed ``seconds`` ago."""
    then = time.time() - seconds
    for inner in [*path.rglob("*"), path]:
        os.utime(inner, (then, then), follow_symlinks=False)


@pytest.fixture
def slow_package(tmp_path: Path) -> Path:
    """A local project whose build makes a scratch folder in ``$TMPDIR`` and then takes two
    minutes (its backend in-tree: offline)."""
    project = local_project(tmp_path / "slowpkg", "slowpkg", "0.1", "X = 1\n")
    backend = project / "np_backend.py"
    head = "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
    backend.write_text(backend.read_text().replace(head, SLOW_BUILD))
    return project


@pytest.fixture
def adding(
    lab: nodepipe.Workspace, offline_index: Path, slow_package: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``nodepipe env add load slowpkg`` in a session of its own, stopped in its package's
    build once the build's scratch folder exists; yields the process and that folder. Its
    whole process group is killed at the end if the test did not."""
    lab.pipelines.new("base")
    lab.nodes.new("base", tag="load")
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [NODEPIPE, "env", "add", "load", f"slowpkg @ {slow_package.as_uri()}"],
        cwd=lab.root,
        env={**os.environ, "SLOW_BUILD_READY": str(ready)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: ready.exists() and ready.read_text(), "the build to start", 120)
        yield process, Path(ready.read_text())
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_build_killed_with_its_uv_leaves_a_folder_repair_removes_once_it_is_an_hour_old(
    lab: nodepipe.Workspace, adding: tuple[subprocess.Popen[bytes], Path], cli: CliRunner
) -> None:
    process, scratch = adding
    assert scratch.parent == uv_tmp(lab)
    age(scratch, THREE_HOURS)  # old, but the uv that made it runs: never touched
    repaired = doctor(cli, "--repair")
    assert scratch.is_dir() and not repaired["repaired"]
    in_use = {f["subject"]: f["what"] for f in of(repaired["found"], "in-use")}
    assert "uv is running" in in_use[str(scratch)]

    os.killpg(process.pid, signal.SIGKILL)  # nodepipe, uv and the build: a power cut
    process.wait()
    age(scratch, 60)  # as if it were killed a minute ago
    [fresh] = of(doctor(cli), "uv-leftovers")
    assert fresh["subject"] == str(scratch) and fresh["action"] is None
    assert "changed within the hour" in fresh["what"]

    age(scratch, THREE_HOURS)
    report = doctor(cli)
    [found] = of(report, "uv-leftovers")
    assert found["action"] == "remove" and found["bytes"] >= 100000
    assert "last changed 3 hours ago" in found["what"]
    summary = {c["category"]: c for c in report["categories"]}["uv-leftovers"]
    assert (summary["count"], summary["to_repair"]) == (1, 1)

    repaired = doctor(cli, "--repair")  # recovers the killed `env add` too
    assert [f["subject"] for f in of(repaired, "uv-leftovers", "repaired")] == [str(scratch)]
    assert not scratch.exists() and not of(repaired["remaining"], "uv-leftovers")
    assert list(uv_tmp(lab).glob("uv-*.lock"))  # uv's project locks stay


def test_an_old_leftover_a_live_process_uses_is_left_alone(
    lab: nodepipe.Workspace, cli: CliRunner
) -> None:
    folder = uv_tmp(lab)
    folder.mkdir(mode=0o700, exist_ok=True)
    inside, held, idle = folder / "tmpinside", folder / "tmpheld", folder / "tmpidle"
    for scratch in (inside, held, idle):
        scratch.mkdir()
        (scratch / "part.o").write_bytes(b"x" * 5000)
        age(scratch, THREE_HOURS)
    holding = "import sys, time; f = open(sys.argv[1]); time.sleep(300)"
    users = [
        subprocess.Popen(["sleep", "300"], cwd=inside),  # works in it
        subprocess.Popen([sys.executable, "-c", holding, str(held / "part.o")]),  # has it open
    ]
    try:
        wait_for(lambda: _holds(users[1]), "the file to be opened")
        repaired = doctor(cli, "--repair")
        assert [f["subject"] for f in repaired["repaired"]] == [str(idle)]
        assert inside.is_dir() and held.is_dir() and not idle.exists()
        in_use = {f["subject"]: f["what"] for f in of(repaired["remaining"], "in-use")}
        assert f"pid {users[0].pid}" in in_use[str(inside)]
        assert f"pid {users[1].pid}" in in_use[str(held)]
    finally:
        for user in users:
            user.kill()
            user.wait()
    repaired = doctor(cli, "--repair")
    assert sorted(f["subject"] for f in repaired["repaired"]) == [str(held), str(inside)]
    assert not inside.exists() and not held.exists()


def _holds(process: subprocess.Popen[bytes]) -> bool:
    return any(
        str(fd.readlink()).endswith("tmpheld/part.o")
        for fd in Path(f"/proc/{process.pid}/fd").iterdir()
    )
