"""A run whose node wrote large new outputs says so while it records them: hashing gigabytes
takes seconds, and the run's live display shows "recording outputs (1.2 / 4.0 GB)" on the
node's row instead of nothing (``node_preparing`` in bytes)."""

from __future__ import annotations

import io
import json

import pytest
from pydantic import TypeAdapter
from rich.console import Console

import nodepipe
from integration.conftest import CliRunner
from nodepipe import NodeState
from nodepipe.cli.progress import LiveProgress
from nodepipe.domain.events import RunEvent
from nodepipe.workspace.file_digests import SHOW_RECORDING_BYTES

WRITES_BIG = f"""\
import nodepipe_node as node
with open(node.data_dir() / "big.bin", "wb") as out:
    out.truncate({SHOW_RECORDING_BYTES + 100 * 2**20})  # sparse: no disk, all of it hashed
"""


def test_large_new_outputs_show_while_they_are_recorded(
    chain: nodepipe.Workspace, cli: CliRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    (chain.nodes.path("clean") / "code" / "main.py").write_text(WRITES_BIG)
    ran = cli("run", "baseline", "--json")
    assert ran.code == 0, ran.stderr
    events = [json.loads(line) for line in ran.stdout.splitlines()]
    clean = chain.nodes.get("clean").id
    told = [e for e in events if e["type"] == "node_preparing" and e["node_id"] == clean]
    total = SHOW_RECORDING_BYTES + 100 * 2**20
    assert told and {(e["step"], e["unit"], e["total"]) for e in told} == {
        ("recording outputs", "bytes", total)
    }
    assert [told[0]["done"], told[-1]["done"]] == [0, total]
    kinds = [e["type"] for e in events if e.get("node_id") == clean]
    assert kinds.index("node_started") < kinds.index("node_preparing")  # after its process
    assert kinds.index("node_preparing") < kinds.index("node_finished")
    assert not any(e["type"] == "node_preparing" and e["node_id"] != clean for e in events)
    states = {s.item.node.tag: s.state for s in chain.runs.status("baseline").nodes.values()}
    assert set(states.values()) == {NodeState.COMPLETED}  # the digest children read agrees

    reading: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
    progress = LiveProgress(terminal=False)
    started = next(e for e in events if e["type"] == "run_started")
    capsys.readouterr()
    halfway = {**told[0], "done": total // 2}
    for event in (started, told[0], halfway):
        progress(reading.validate_python(event))
    assert "… clean: recording outputs (0.6 GB)" in capsys.readouterr().out
    screen = Console(record=True, width=120, file=io.StringIO())
    screen.print(progress._render())
    assert "clean: recording outputs (0.3 / 0.6 GB)" in screen.export_text()
    progress(reading.validate_python(told[-1]))
    assert not progress.preparing  # done: the row goes

    (chain.nodes.path("clean") / "code" / "main.py").write_text("pass\n")
    small = cli("run", "baseline", "--json")  # small outputs: nothing to tell
    assert small.code == 0 and "node_preparing" not in small.stdout
