"""Kill -9 at every step: a run, an environment edit, a duplicate with data, a branch, a merge.

Each operation runs as a real ``nodepipe`` process on a copy of one workspace and is killed
(SIGKILL, no handler runs) again and again: at each named crash point of its path
(``NODEPIPE_CRASH_AT``, see ``workspace/crash_points.py``), and at seeded random moments of its
run, the whole process group then (uv included). After each kill, the next command
(``nodepipe status``, a separate process) must find and settle what was left, and then:

- 0 nodes stuck: no run, node or node run is left queued or running;
- 0 previous outputs lost: every node's data/ digests to what the store records for it (the
  old outputs, or the new ones when the store says the node completed), and every copy with
  data holds exactly its source's outputs;
- 0 orphan folders: node folders and node rows match one to one; no half-copies in
  ``.nodepipe/staging``, no staging, promotion or environment leftovers in any node folder;
- a consistent store and environments: the node whose environment was edited has the package
  in both pyproject.toml and uv.lock, or in neither, and its lock satisfies its pyproject;
  a pipeline a branch or merge made declares every bundle input it carries, or does not exist.

Every operation is killed at least ``KILLS`` times within a bounded time; the counts are
printed (``-s``) for the record.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

import nodepipe
from nodepipe.services.runs.service import RunRequest
from nodepipe.store.schema import node_runs, nodes, pipeline_inputs, pipelines, runs
from nodepipe.store.store import Store
from nodepipe.workspace.file_digests import fingerprint_outputs
from support.waiting import wait_for
from support.wheels import toy_index

KILLS = 20
"""Kills per operation, at least."""
BUDGET_SECONDS = 420.0
"""Time allowed per operation for its kills (a bounded loop; far more than it needs)."""
NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))

MANY_OUTPUTS = """\
import nodepipe_node as node
out = node.data_dir()
for i in range(400):
    (out / f"part{i:03}.txt").write_text(f"{i} " * 50 + node.tag() + str(node.run_id()))
"""
FEW_OUTPUTS = """\
import nodepipe_node as node
out = node.data_dir()
text = "".join((p.data_dir / "part000.txt").read_text()[:20] for p in node.parents())
for i in range(5):
    (out / f"part{i:03}.txt").write_text(text + node.tag())
"""


@dataclass(frozen=True)
class Operation:
    argv: tuple[str, ...]
    points: tuple[str, ...]
    """Crash points on the operation's path (``NAME@N``: the N-th pass)."""
    copies_data: bool = True
    """Whether the copies it makes take their sources' outputs."""
    made: tuple[str, dict[str, list[str]]] | None = None
    """The pipeline it makes and the bundle inputs it declares (input → tags of its nodes)."""


OPERATIONS = {
    "run": Operation(
        ("run", "base", "--force", "--jobs", "2"),
        (
            "run.claimed",
            "task.staged",
            "task.launched@2",
            "conclude.digested",
            "aside-written.promoting",
            "promote.intent-written",
            "promote.previous-aside@2",
            "conclude.promoted@3",
            "record.committed",
            "promote.previous-removed@2",
        ),
    ),
    "env-edit": Operation(
        ("env", "add", "b", "toypkg==1.0", "--pipeline", "base"),
        ("edit.saved", "sync.built", "sync.swapping", "edit.edited", "journal.finishing"),
    ),
    "duplicate": Operation(
        ("node", "duplicate", "a", "b", "--pipeline", "base", "--with-data"),
        ("folders.recorded", "folders.moved", "folders.moved@2", "folders.synced"),
    ),
    "branch": Operation(
        ("pipeline", "branch", "base", "--from", "a", "--name", "variant"),
        ("folders.recorded", "folders.moved@2", "folders.synced", "folders.committed"),
        copies_data=False,
        made=("variant", {"raw": ["a"], "side": ["b"]}),
    ),
    "merge": Operation(
        ("pipeline", "merge", "base", "other", "--name", "both", "--with-data"),
        ("folders.recorded", "folders.moved@3", "folders.synced", "folders.committed"),
        made=("both", {"more": ["d"], "raw": ["a"], "side": ["b"]}),
    ),
}


@pytest.fixture(scope="module")
def offline_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_index(tmp_path_factory.mktemp("wheels"))


def uv_offline(wheels: Path) -> dict[str, str]:
    return {
        "UV_FIND_LINKS": str(wheels),
        "UV_OFFLINE": "1",
        "UV_INDEX_URL": "http://127.0.0.1:9/simple",
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, offline_wheels: Path) -> Path:
    """Pipelines ``base`` (a → b, a → c; a writes 400 files; bundle inputs raw → a, side → b)
    and ``other`` (d, and a shown by reference; input more → d), all run once: every node has
    outputs to lose."""
    root = tmp_path_factory.mktemp("template") / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.pipelines.new("other")
    for tag, code in (("a", MANY_OUTPUTS), ("b", FEW_OUTPUTS), ("c", FEW_OUTPUTS)):
        ws.nodes.new("base", tag)
        (ws.nodes.path(tag) / "code" / "main.py").write_text(code)
    ws.edges.connect("a", "b", "base")
    ws.edges.connect("a", "c", "base")
    ws.nodes.new("other", "d")
    (ws.nodes.path("d") / "code" / "main.py").write_text(FEW_OUTPUTS)
    ws.node_copies.reference(["a"], into="other", pipeline="base")
    ws.edges.connect("a", "d", "other")
    for pipeline in ("base", "other"):
        finished = ws.runs.run(RunRequest(pipeline)).finished
        assert finished is not None and finished.failed == 0
    exports = tmp_path_factory.mktemp("exports")
    ws.bundles.export("base", exports / "base", inputs={"raw": ["a"], "side": ["b"]})
    ws.bundles.export("other", exports / "other", inputs={"more": ["d"]})
    ws.close()
    return root


@dataclass
class Kills:
    at_points: int = 0
    at_random: int = 0
    finished_first: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.at_points + self.at_random


def copy_of(template: Path, where: Path) -> Path:
    root = where / "lab"
    shutil.copytree(template, root, symlinks=True)
    return root


def start(root: Path, argv: tuple[str, ...], extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env.update(extra_env)
    return subprocess.Popen(
        [NODEPIPE, "-w", str(root), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own group: a group kill takes uv with it
    )


def next_command(root: Path, extra_env: dict[str, str]) -> None:
    """The command after the crash: it must work, and it settles what was left."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    env.update(extra_env)
    done = subprocess.run(
        [NODEPIPE, "-w", str(root), "status", "base", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@dataclass(frozen=True)
class Row:
    id: str
    tag: str
    state: str
    output_digest: str | None


def rows(root: Path) -> tuple[list[Row], list[str], list[str]]:
    """Node rows, run statuses and node-run states, read without any recovery."""
    store = Store.open(f"sqlite:///{root / '.nodepipe' / 'store.sqlite'}")
    try:
        with store.engine.connect() as connection:
            found = [
                Row(r.id, r.tag, r.state, r.output_digest)
                for r in connection.execute(sa.select(nodes))
            ]
            statuses = [r.status for r in connection.execute(sa.select(runs))]
            states = [r.state for r in connection.execute(sa.select(node_runs))]
    finally:
        store.close()
    return found, statuses, states


def declared_inputs(root: Path, tag: str) -> dict[str, list[str]] | None:
    """The bundle inputs pipeline ``tag`` declares (input → node tags), None when it does not
    exist; read without any recovery."""
    store = Store.open(f"sqlite:///{root / '.nodepipe' / 'store.sqlite'}")
    try:
        with store.engine.connect() as connection:
            found = connection.execute(sa.select(pipelines.c.id).where(pipelines.c.tag == tag))
            pipeline_id = found.scalar()
            if pipeline_id is None:
                return None
            statement = (
                sa.select(pipeline_inputs.c.name, nodes.c.tag)
                .join(nodes, nodes.c.id == pipeline_inputs.c.node_id)
                .where(pipeline_inputs.c.pipeline_id == pipeline_id)
            )
            declared: dict[str, list[str]] = {}
            for name, node_tag in connection.execute(statement):
                declared.setdefault(name, []).append(node_tag)
    finally:
        store.close()
    return {name: sorted(tags) for name, tags in declared.items()}


def check_invariants(
    root: Path, template: Path, operation: Operation, edited_node: str | None
) -> None:
    found, statuses, states = rows(root)
    assert "running" not in statuses, "a run is stuck"
    assert not {"queued", "running"} & {row.state for row in found}, "a node is stuck"
    assert not {"queued", "running"} & set(states), "a node run is stuck"
    folders = {p.name for p in (root / "nodes").iterdir()}
    assert folders == {row.id for row in found}, "node folders and rows differ"
    assert list((root / ".nodepipe" / "staging").iterdir()) == [], "journal leftovers"
    originals = {row.id for row in rows(template)[0]}
    sources = {row.tag: row for row in found if row.id in originals}
    for row in found:
        folder = root / "nodes" / row.id
        leftovers = [p.name for p in folder.iterdir() if p.name == ".staging"]
        leftovers += [p.name for p in (folder / ".staging").glob("*")]
        leftovers += [p.name for p in (folder / "code").glob(".venv.*")]
        assert leftovers in ([], [".staging"]), f"leftovers in {row.tag}: {leftovers}"
        digest = fingerprint_outputs(folder / "data")
        if row.id in originals:
            assert digest == row.output_digest, f"outputs of {row.tag} lost or unrecorded"
        else:  # a copy (tagged TAG-copy) holds its source's outputs exactly, or none
            source = root / "nodes" / sources[row.tag.removesuffix("-copy")].id / "data"
            wanted = fingerprint_outputs(source if operation.copies_data else folder / "nothing")
            assert digest == wanted, f"copy of {row.tag} is not whole"
    if edited_node is not None:
        check_environment(root / "nodes" / sources[edited_node].id / "code")
    if operation.made is not None:
        tag, wanted = operation.made
        assert declared_inputs(root, tag) in (None, wanted), f"{tag}'s inputs are not whole"


def check_environment(code: Path) -> None:
    pyproject = tomllib.loads((code / "pyproject.toml").read_text())
    declared = any("toypkg" in d for d in pyproject["project"]["dependencies"])
    locked = "toypkg" in (code / "uv.lock").read_text()
    assert declared == locked, "pyproject.toml and uv.lock disagree"


def kill_at_random(process: subprocess.Popen[bytes], after: float) -> bool:
    """SIGKILL the process group after ``after`` seconds; False if it ended first."""
    try:
        process.wait(after)
        return False
    except subprocess.TimeoutExpired:
        kill_group(process)
        return True


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole group and wait until none of it lives (a child caught between fork
    and exec holds its parent's descriptors, locks included, until it is gone)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    wait_for(lambda: not _live_members(process.pid), f"process group {process.pid} to end", 10)


def _live_members(group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def timed(root: Path, operation: Operation, env: dict[str, str]) -> float:
    """How long the operation takes when nobody kills it (it must succeed)."""
    began = time.monotonic()
    process = start(root, operation.argv, env)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()
    return time.monotonic() - began


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_kill_at_any_step_loses_nothing_and_leaves_nothing(
    name: str, template: Path, offline_wheels: Path, tmp_path: Path
) -> None:
    operation = OPERATIONS[name]
    env = uv_offline(offline_wheels)
    edited = "b" if name == "env-edit" else None
    duration = timed(copy_of(template, tmp_path / "timing"), operation, env)
    generator = random.Random(f"nodepipe-{name}")
    kills = Kills()
    deadline = time.monotonic() + BUDGET_SECONDS
    attempt = 0
    while kills.total < KILLS or attempt < len(operation.points):
        assert time.monotonic() < deadline, f"only {kills.total} kills in the time allowed"
        root = copy_of(template, tmp_path / f"attempt{attempt}")
        if attempt < len(operation.points):
            point = operation.points[attempt]
            process = start(root, operation.argv, {**env, "NODEPIPE_CRASH_AT": point})
            _, stderr = process.communicate(timeout=300)
            assert process.returncode == -signal.SIGKILL, f"{point} not reached: {stderr!r}"
            kills.at_points += 1
            kills.seen.append(point)
        else:
            process = start(root, operation.argv, env)
            if kill_at_random(process, generator.uniform(0.05, duration)):
                kills.at_random += 1
            else:
                kills.finished_first += 1
        next_command(root, env)
        check_invariants(root, template, operation, edited)
        shutil.rmtree(root)
        attempt += 1
    print(
        f"\n{name}: {kills.total} kills ({kills.at_points} at crash points "
        f"{', '.join(kills.seen)}; {kills.at_random} at random moments; "
        f"{kills.finished_first} runs ended before their kill), all recovered"
    )
    assert kills.total >= KILLS


def kill_right_after_the_swap(process: subprocess.Popen[bytes], data: Path) -> bool:
    """SIGKILL the group the moment ``data`` is replaced (its inode changes): between the
    promotion and the store's record of it. False if the process ended first."""
    before = data.stat().st_ino
    while process.poll() is None:
        try:
            if data.stat().st_ino != before:
                kill_group(process)
                return True
        except FileNotFoundError:  # between the two renames
            continue
        time.sleep(0.0005)
    return False


def test_a_kill_just_after_outputs_are_swapped_in_keeps_them_and_records_them(
    template: Path, offline_wheels: Path, tmp_path: Path
) -> None:
    """Issue 10, finding 2: killed within moments of a node's outputs being swapped in, the
    old outputs used to be deleted while the store kept their digest and failed the run. Now
    the run is rolled forward: the new outputs stay, recorded, and nothing is left over."""
    env = uv_offline(offline_wheels)
    killed = 0
    for attempt in range(8):
        root = copy_of(template, tmp_path / f"attempt{attempt}")
        a_id = next(row.id for row in rows(root)[0] if row.tag == "a")
        process = start(root, OPERATIONS["run"].argv, env)
        killed += kill_right_after_the_swap(process, root / "nodes" / a_id / "data")
        next_command(root, env)
        check_invariants(root, template, OPERATIONS["run"], None)
        new = (root / "nodes" / a_id / "data" / "part000.txt").read_text()
        old = (template / "nodes" / a_id / "data" / "part000.txt").read_text()
        a_row = next(row for row in rows(root)[0] if row.tag == "a")
        assert (a_row.state == "completed") == (new != old)
        shutil.rmtree(root)
    print(f"\nkilled {killed} of 8 runs right after a promotion; all recorded or undone")
    assert killed >= 6
