"""What reaches the disk before what (issue 10, finding 7), read from the system calls of real
``nodepipe`` processes with strace: a file is flushed before the rename that publishes it and
its folder after; a run's outputs are flushed before the store records them, and the old
outputs go only after that record.

A power cut cannot be staged on this machine, but its rule can be checked exactly: nothing is
published, recorded or deleted before what it depends on is on disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import nodepipe
from nodepipe.cli.fork_client import SWITCH_ENV
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.output_swap import INTENT_SPARE

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
STRACE = shutil.which("strace") or "/usr/bin/strace"
CALLS = "openat,fsync,fdatasync,syncfs,rename,renameat,renameat2,unlink,unlinkat,rmdir,pwrite64"
_CALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s*(\w+)\((.*)\)\s+=\s+(-?\d+)")


@dataclass(frozen=True)
class Call:
    index: int
    name: str
    args: str


def traced(root: Path, *args: str) -> list[Call]:
    """The calls of ``nodepipe ARGS`` and its threads and children, in order (the log goes
    beside the workspace at ``root``)."""
    if not Path(STRACE).exists():
        pytest.fail("strace is missing: `apt-get install -y strace` (make test does this)")
    log = root.parent / "strace.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    # The command in the traced process itself: a fork server's worker is not its child, and
    # a server it started would be traced (and waited for) too.
    env[SWITCH_ENV] = "0"
    done = subprocess.run(
        [STRACE, "-f", "-qq", "-y", "-e", f"trace={CALLS}", "-o", str(log), NODEPIPE, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    calls = []
    for line in log.read_text().splitlines():
        match = _CALL.match(line)
        if match and int(match.group(4)) >= 0:
            calls.append(Call(len(calls), match.group(2), match.group(3)))
    return calls


def _has(call: Call, parts: tuple[str, ...]) -> bool:
    return all(part in call.args for part in parts)


def first(calls: list[Call], name: str, *parts: str, after: int = -1) -> Call:
    for call in calls:
        if call.index > after and call.name.startswith(name) and _has(call, parts):
            return call
    raise AssertionError(f"no {name}({', '.join(parts)}) after call {after}")


def last(calls: list[Call], name: str, *parts: str, before: int) -> Call:
    found = [
        c for c in calls[:before] if c.name.startswith(name) and all(p in c.args for p in parts)
    ]
    assert found, f"no {name}({', '.join(parts)}) before call {before}"
    return found[-1]


@pytest.fixture
def lab(tmp_path: Path) -> nodepipe.Workspace:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("p")
    ws.nodes.new("p", "load")
    (ws.nodes.path("load") / "code" / "main.py").write_text(
        "import nodepipe_node as node\n(node.data_dir() / 'out.txt').write_text('new')\n"
    )
    return ws


def test_parameters_are_flushed_before_they_replace_the_old_ones(lab: nodepipe.Workspace) -> None:
    calls = traced(lab.root, "-w", str(lab.root), "node", "params", "load", "--set", "alpha=0.5")
    publish = first(calls, "rename", ".params.yaml.", "params.yaml")
    flushed = last(calls, "fsync", ".params.yaml.", before=publish.index)
    assert flushed.index < publish.index
    code = str(lab.nodes.path("load") / "code")
    first(calls, "fsync", f"<{code}>", after=publish.index)  # the folder, after the rename


def test_a_run_checkpoints_the_store_once_when_it_closes_it(lab: nodepipe.Workspace) -> None:
    """SQLite copies a WAL store's log into its file, flushes both and deletes the log whenever
    the last connection to it closes. Each transaction and read of a run has a connection of
    its own; the store's keeper connection leaves that copy to the command's end (one copy,
    not one per transaction and read), while every commit still flushes the log."""
    lab.runs.run(RunRequest("p"))
    lab.close()  # this process holds no connection: the command's own are the only ones
    calls = traced(lab.root, "-w", str(lab.root), "run", "p", "--force")
    log = str(lab.context.layout.default_store_file) + "-wal"
    deleted = [c for c in calls if c.name.startswith("unlink") and f'"{log}"' in c.args]
    commits = [c for c in calls if c.name == "fdatasync" and f"<{log}>" in c.args]
    assert len(deleted) == 1, f"the log was copied into the store {len(deleted)} times"
    assert len(commits) >= 3  # the claim, the node's progress, the run's end: each flushed
    assert deleted[0].index > commits[-1].index  # at the end, once all is recorded


def test_a_long_run_copies_its_log_into_the_store_file_as_it_goes(
    lab: nodepipe.Workspace,
) -> None:
    """The recorder copies the log into the store file after each batch while nodes run, so
    the checkpoint when the command closes the store has only the run's end left to copy."""
    (lab.nodes.path("load") / "code" / "main.py").write_text("import time\ntime.sleep(0.8)\n")
    lab.runs.run(RunRequest("p"))
    lab.close()
    calls = traced(lab.root, "-w", str(lab.root), "run", "p", "--force")
    store = str(lab.context.layout.default_store_file)
    copied = first(calls, "pwrite64", f"<{store}>")
    deleted = first(calls, "unlink", f'"{store}-wal"')
    commits = [c for c in calls if c.name == "fdatasync" and f"<{store}-wal>" in c.args]
    assert copied.index < commits[-1].index < deleted.index  # copied before the run's end


def test_a_runs_outputs_are_on_disk_before_the_store_records_them(
    lab: nodepipe.Workspace,
) -> None:
    finished = lab.runs.run(RunRequest("p")).finished  # old outputs to replace
    assert finished is not None and finished.completed == 1
    calls = traced(lab.root, "-w", str(lab.root), "run", "p", "--force")
    data = str(lab.nodes.path("load") / "data")
    swap = first(calls, "rename", ".staging/", f'"{data}"')
    removal = first(calls, "unlinkat", ".previous", after=swap.index)
    record = last(calls, "fdatasync", "store.sqlite-wal", before=removal.index)
    assert record.index > swap.index, "old outputs removed before the store recorded the run"
    flush = last(calls, "syncfs", before=record.index)
    assert flush.index > swap.index, "the store recorded outputs not yet on disk"
    # the intent leaves .staging (kept as the spare the next intent is written over)
    intent_gone = first(calls, "rename", ".promoting", INTENT_SPARE, after=removal.index)
    assert last(calls, "syncfs", before=intent_gone.index).index > removal.index
