"""Running pipelines for real: staleness with reasons, selections, failures, outputs, history."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import nodepipe
from nodepipe import NodeState
from nodepipe.domain.errors import InvalidInputError, NotFoundError
from nodepipe.domain.events import NodeFinished
from nodepipe.domain.runs import NodeRunState, RunOutcome
from nodepipe.execution import recorder
from nodepipe.services.runs.service import RunRequest, RunResult
from support.waiting import wait_for

COPY_INPUTS = """\
import nodepipe_node as node
out = node.data_dir()
text = "".join(
    (p.data_dir / "out.txt").read_text() for p in node.parents()
)
(out / "out.txt").write_text(text + node.tag() + str(node.params().get("n", "")) + ";")
"""


def write_main(ws: nodepipe.Workspace, node: str, code: str) -> None:
    (ws.nodes.path(node) / "code" / "main.py").write_text(code)


def ran(result: RunResult) -> list[str]:
    """Tags of the nodes a run planned, in order."""
    return [result.tags[p.node_id] for p in result.plan.nodes]


def output(ws: nodepipe.Workspace, node: str) -> str:
    return (ws.nodes.path(node) / "data" / "out.txt").read_text()


@pytest.fixture
def pipeline(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    """load → clean → plot, each appending its tag to what its parents wrote."""
    for tag in ("load", "clean", "plot"):
        write_main(chain, tag, COPY_INPUTS)
    return chain


def test_first_run_runs_everything_then_nothing(pipeline: nodepipe.Workspace) -> None:
    first = pipeline.runs.run(RunRequest("baseline"))
    assert ran(first) == ["load", "clean", "plot"]
    assert first.finished is not None and first.finished.completed == 3
    assert output(pipeline, "plot") == "load;clean;plot;"
    again = pipeline.runs.run(RunRequest("baseline"))
    assert again.run_id is None and ran(again) == []
    assert {s.reason for s in again.plan.skipped} == {"up to date"}


def test_only_stale_nodes_rerun_with_reasons(pipeline: nodepipe.Workspace) -> None:
    pipeline.runs.run(RunRequest("baseline"))
    main = pipeline.nodes.path("clean") / "code" / "main.py"
    main.write_text(main.read_text() + "# edited\n")
    status = pipeline.runs.status("baseline")
    why = {s.item.node.tag: (s.state, s.reasons) for s in status.nodes.values()}
    assert why["load"] == (NodeState.COMPLETED, ())
    assert why["clean"] == (NodeState.STALE, ("code changed: main.py",))
    assert why["plot"] == (NodeState.STALE, ("parent 01 (clean) is stale",))
    result = pipeline.runs.run(RunRequest("baseline"))
    assert ran(result) == ["clean", "plot"]
    reasons = {result.tags[p.node_id]: p.reasons for p in result.plan.nodes}
    assert reasons == {
        "clean": ("code changed: main.py",),
        "plot": ("parent 01 (clean) will re-run",),
    }


def test_parameter_and_lock_changes_are_explained(pipeline: nodepipe.Workspace) -> None:
    pipeline.runs.run(RunRequest("baseline"))
    pipeline.nodes.set_params("load", ["n=2"])
    lock = pipeline.nodes.path("plot") / "code" / "uv.lock"
    lock.write_text(lock.read_text() + "\n")
    status = {s.item.node.tag: s.reasons for s in pipeline.runs.status("baseline").nodes.values()}
    assert status["load"] == ("parameter n added",)  # computed, once; not the stored reason too
    assert any(r.startswith("lock changed") for r in status["plot"])
    pipeline.runs.run(RunRequest("baseline"))
    assert output(pipeline, "plot") == "load2;clean;plot;"


def test_selections(pipeline: nodepipe.Workspace) -> None:
    pipeline.runs.run(RunRequest("baseline"))
    assert ran(pipeline.runs.run(RunRequest("baseline", force=True, to=["clean"]))) == [
        "load",
        "clean",
    ]
    assert ran(pipeline.runs.run(RunRequest("baseline", force=True, from_=["clean"]))) == [
        "clean",
        "plot",
    ]
    assert ran(pipeline.runs.run(RunRequest("baseline", force=True, only=["plot", "load"]))) == [
        "load",
        "plot",
    ]
    assert ran(pipeline.runs.run(RunRequest("baseline", force=True))) == ["load", "clean", "plot"]
    dry = pipeline.runs.plan(RunRequest("baseline", force=True))
    assert ran(dry) == ["load", "clean", "plot"] and dry.run_id is None


def test_failure_keeps_old_outputs_and_skips_descendants_only(
    pipeline: nodepipe.Workspace,
) -> None:
    """diamond-ish: load → clean → plot and load → side; clean fails, side still runs."""
    pipeline.nodes.new("baseline", "side")
    pipeline.edges.connect("load", "side", "baseline")
    write_main(pipeline, "side", COPY_INPUTS)
    pipeline.runs.run(RunRequest("baseline"))
    before = output(pipeline, "clean")
    write_main(
        pipeline,
        "clean",
        "import nodepipe_node as n\n"
        "(n.data_dir() / 'partial.txt').write_text('half')\nraise ValueError('bad data')\n",
    )
    pipeline.nodes.set_params("load", ["n=1"])
    result = pipeline.runs.run(RunRequest("baseline"))
    assert result.finished is not None
    assert (result.finished.completed, result.finished.failed, result.finished.skipped) == (2, 1, 1)
    assert output(pipeline, "clean") == before
    assert not (pipeline.nodes.path("clean") / "data" / "partial.txt").exists()
    assert output(pipeline, "side") == "load1;side;"
    clean, plot = pipeline.nodes.find("clean"), pipeline.nodes.find("plot")  # as recorded
    assert clean.state is NodeState.FAILED  # the reason says why, from the log
    assert clean.state_reason == "exited with code 1: ValueError: bad data"
    assert plot.state is NodeState.STALE  # did not run: keeps its old outputs, still stale
    node_runs = {nr.node_id: nr for nr in pipeline.runs.node_runs(result.run_id or "")}
    assert node_runs[plot.id].state is NodeRunState.SKIPPED
    assert node_runs[plot.id].message == "upstream clean failed"
    log = Path(pipeline.runs.log("clean").log_file).read_text()
    assert "ValueError: bad data" in log and "# nodepipe: exited with code 1" in log


def test_large_outputs_are_promoted_digested_and_replaced(pipeline: nodepipe.Workspace) -> None:
    """Outputs too large to settle in the launcher thread (here 2 MiB and 100 files) are
    concluded by a helper: promoted whole, digested for the children, replaced next time."""
    write_main(
        pipeline,
        "load",
        "import nodepipe_node as node\n"
        "out = node.data_dir()\n"
        "(out / 'big.bin').write_bytes(bytes([node.params().get('n', 0)]) * (2 << 20))\n"
        "for i in range(100):\n"
        "    (out / f'part{i}.txt').write_text(str(i))\n"
        "(out / 'out.txt').write_text('load;')\n",
    )
    first = pipeline.runs.run(RunRequest("baseline"))
    assert first.finished is not None and first.finished.completed == 3
    data = pipeline.nodes.path("load") / "data"
    assert (data / "big.bin").stat().st_size == 2 << 20 and len(list(data.iterdir())) == 102
    pipeline.nodes.set_params("load", ["n=7"])
    again = pipeline.runs.run(RunRequest("baseline"))
    assert ran(again) == ["load", "clean", "plot"]  # new outputs: the children re-run
    assert (data / "big.bin").read_bytes()[:1] == b"\x07" and len(list(data.iterdir())) == 102
    assert output(pipeline, "plot") == "load;clean;plot;"
    assert pipeline.runs.run(RunRequest("baseline")).run_id is None


def test_the_node_sees_its_context(pipeline: nodepipe.Workspace) -> None:
    write_main(
        pipeline,
        "clean",
        """\
import json, os, nodepipe_node as node
ctx = json.load(open(os.environ["NODEPIPE_CONTEXT"]))
(node.data_dir() / "out.txt").write_text(json.dumps({
    "env": {k: v for k, v in os.environ.items() if k.startswith("NODEPIPE_")},
    "ctx": ctx, "cwd": os.getcwd(), "first": str(node.parent("01").data_dir),
}))
""",
    )
    pipeline.nodes.set_params("clean", ["lr=0.5"])
    result = pipeline.runs.run(RunRequest("baseline", to=["clean"]))
    seen = json.loads(output(pipeline, "clean"))
    clean, load = pipeline.nodes.get("clean"), pipeline.nodes.get("load")
    folder = pipeline.nodes.path("clean")
    assert seen["env"]["NODEPIPE_NODE_ID"] == clean.id
    assert seen["env"]["NODEPIPE_NODE_DIR"] == str(folder)
    assert seen["env"]["NODEPIPE_RUN_ID"] == result.run_id
    assert seen["env"]["NODEPIPE_REPORTS_DIR"] == str(folder / "reports")
    assert seen["env"]["NODEPIPE_DATA_DIR"].startswith(str(folder / ".staging"))
    assert seen["cwd"] == str(folder / "code")
    assert seen["ctx"]["params"] == {"lr": 0.5}
    assert seen["ctx"]["node"] == {"id": clean.id, "tag": "clean"}
    assert seen["ctx"]["parents"] == [
        {
            "slot": "01",
            "id": load.id,
            "tag": "load",
            "data_dir": str(pipeline.nodes.path("load") / "data"),
        }
    ]
    assert seen["first"] == str(pipeline.nodes.path("load") / "data")
    pipeline.nodes.set_params("clean", ["lr=0.25"])  # the context file is rewritten on change
    pipeline.runs.run(RunRequest("baseline", to=["clean"]))
    assert json.loads(output(pipeline, "clean"))["ctx"]["params"] == {"lr": 0.25}


def test_command_and_notebook_entry_points(pipeline: nodepipe.Workspace) -> None:
    code = pipeline.nodes.path("clean") / "code"
    (code / "run.sh").write_text(
        'echo "from shell $NODEPIPE_NODE_ID" > "$NODEPIPE_DATA_DIR/out.txt"\n'
    )
    pyproject = code / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'entry = "main.py"', 'entry = "main.py"\ncommand = ["bash", "run.sh"]'
        )
    )
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# a note"]},
            {"cell_type": "code", "source": ["import nodepipe_node as node\n", "x = 40\n"]},
            {"cell_type": "code", "source": "(node.data_dir() / 'out.txt').write_text(str(x + 2))"},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    plot_code = pipeline.nodes.path("plot") / "code"
    (plot_code / "analysis.ipynb").write_text(json.dumps(notebook))
    plot_pyproject = plot_code / "pyproject.toml"
    plot_pyproject.write_text(
        plot_pyproject.read_text().replace('entry = "main.py"', 'entry = "analysis.ipynb"')
    )
    result = pipeline.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 0
    assert output(pipeline, "clean").strip() == f"from shell {pipeline.nodes.get('clean').id}"
    assert output(pipeline, "plot") == "42"


def test_timeout_fails_the_node(pipeline: nodepipe.Workspace) -> None:
    write_main(pipeline, "load", "import time\ntime.sleep(60)\n")
    pyproject = pipeline.nodes.path("load") / "code" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('entry = "main.py"', 'entry = "main.py"\ntimeout = 1')
    )
    result = pipeline.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 1
    load = pipeline.nodes.get("load")
    assert load.state is NodeState.FAILED and "timed out after 1 s" in load.state_reason


def test_a_command_that_cannot_start_is_nodepipes_error(pipeline: nodepipe.Workspace) -> None:
    pyproject = pipeline.nodes.path("clean") / "code" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'entry = "main.py"', 'entry = "main.py"\ncommand = ["no-such-program-here"]'
        )
    )
    ended: list[NodeFinished] = []
    result = pipeline.runs.run(
        RunRequest("baseline"), [lambda e: ended.append(e) if isinstance(e, NodeFinished) else None]
    )
    assert result.finished is not None and (result.finished.failed, result.finished.skipped) == (
        1,
        1,
    )
    outcomes = {result.tags[e.node_id]: e.outcome.status for e in ended}
    assert outcomes == {"load": RunOutcome.COMPLETED, "clean": RunOutcome.ERROR}  # not FAILED
    clean = pipeline.nodes.get("clean")
    assert clean.state is NodeState.FAILED
    assert "nodepipe could not run it: cannot start no-such-program-here" in clean.state_reason
    assert pipeline.nodes.get("load").state is NodeState.COMPLETED
    log = Path(pipeline.runs.log("clean").log_file).read_text()
    assert "cannot start no-such-program-here" in log


def test_history_records_who_what_and_how(pipeline: nodepipe.Workspace) -> None:
    result = pipeline.runs.run(RunRequest("baseline", jobs=2))
    (run,) = pipeline.runs.history("baseline")
    assert run.id == result.run_id and run.executor == "local" and run.jobs == 2
    assert run.status.value == "completed" and run.finished_at is not None
    node_runs = pipeline.runs.node_runs(run.id)
    assert {nr.state for nr in node_runs} == {NodeRunState.COMPLETED}
    for nr in node_runs:
        assert nr.exit_code == 0 and nr.fingerprint and nr.output_digest
        assert Path(nr.log_file).is_file() and nr.duration_seconds is not None
    latest = pipeline.nodes.path("plot") / "logs" / "latest.log"
    assert latest.samefile(pipeline.runs.log("plot").log_file)  # a second name for it


def test_an_executor_that_cannot_start_gives_the_nodes_back(
    pipeline: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failure injection: the executor fails to start (a cluster gone, no threads left)."""
    from nodepipe.execution.local import LocalExecutor

    pipeline.runs.run(RunRequest("baseline"))
    write_main(pipeline, "clean", "print('changed')\n")
    before = {tag: pipeline.nodes.get(tag).state for tag in ("load", "clean", "plot")}

    def cannot_start(self: LocalExecutor) -> None:
        raise OSError("no threads left")

    monkeypatch.setattr(LocalExecutor, "start", cannot_start)
    with pytest.raises(OSError, match="no threads left"):
        pipeline.runs.run(RunRequest("baseline"))
    assert {tag: pipeline.nodes.get(tag).state for tag in before} == before
    (run, *_) = pipeline.runs.history("baseline")
    assert run.status.value == "failed"
    node_runs = pipeline.runs.node_runs(run.id)
    assert {nr.state for nr in node_runs} == {NodeRunState.FAILED}
    assert all(
        "the local executor did not start: no threads left" in nr.message for nr in node_runs
    )


def test_an_executor_that_cannot_start_without_a_word_is_named_by_its_error(
    pipeline: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failure injection: an error with no text of its own (Ctrl-C's has none either) still
    gives the run's nodes a reason: the error's type."""
    from nodepipe.execution.local import LocalExecutor

    def cannot_start(self: LocalExecutor) -> None:
        raise TimeoutError

    monkeypatch.setattr(LocalExecutor, "start", cannot_start)
    with pytest.raises(TimeoutError):
        pipeline.runs.run(RunRequest("baseline"))
    (run, *_) = pipeline.runs.history("baseline")
    messages = {nr.message for nr in pipeline.runs.node_runs(run.id)}
    assert messages == {"the local executor did not start: TimeoutError"}
    assert {n.state for n in pipeline.nodes.list("baseline")} == {NodeState.READY}


def test_a_log_asked_of_a_run_the_node_was_not_in_names_its_runs(
    pipeline: nodepipe.Workspace,
) -> None:
    first = pipeline.runs.run(RunRequest("baseline")).run_id
    second = pipeline.runs.run(RunRequest("baseline", force=True)).run_id
    assert pipeline.runs.log("plot", first[:6]).run_id == first
    with pytest.raises(NotFoundError) as missing:
        pipeline.runs.log("plot", "nosuch")
    assert str(missing.value) == (
        f"node 'plot' did not run in run 'nosuch'; its latest runs: {second}, {first}"
    )
    shared = next(
        (first[:n] for n in range(1, 8) if second.startswith(first[:n])), None
    )  # a start both ids have, when they have one
    if shared is not None:
        with pytest.raises(InvalidInputError, match="give more of the run's id"):
            pipeline.runs.log("plot", shared)
    with pytest.raises(InvalidInputError, match="give more of the run's id"):
        pipeline.runs.log("plot", "")  # the start of every run


def test_a_log_of_a_run_older_than_the_latest_two_hundred_is_found(
    pipeline: nodepipe.Workspace,
) -> None:
    first = pipeline.runs.run(RunRequest("baseline", only=["load"])).run_id
    (run,) = pipeline.runs.history("baseline")
    (node_run,) = pipeline.runs.node_runs(first)
    later = [
        replace(run, id=f"later{n:03d}", created_at=run.created_at + timedelta(seconds=n + 1))
        for n in range(200)
    ]
    with pipeline.context.store.write() as session:  # 200 runs since, as a busy node has
        for again in later:
            session.insert_run(again)
        session.insert_node_runs(
            [
                replace(node_run, id=f"nr{again.id}", run_id=again.id, created_at=again.created_at)
                for again in later
            ]
        )
    assert pipeline.runs.log("load").run_id == "later199"
    assert pipeline.runs.log("load", first).run_id == first


def test_once_the_last_node_is_handed_out_what_the_run_did_is_recorded_while_it_runs(
    pipeline: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A run's progress is written in windows; once no node is left to hand out, what is
    pending is written at once, while the last node runs: another process sees the nodes
    before it completed, and the run's end has only the last node's events left to write.
    (With a window longer than this test waits, only that early write shows them.)"""
    monkeypatch.setattr(recorder, "BATCH_WINDOW", 600.0)
    told = tmp_path / "told"
    write_main(
        pipeline,
        "plot",
        "import pathlib, time\n"
        f"while not pathlib.Path({str(told)!r}).exists():\n    time.sleep(0.05)\n",
    )
    results: list[RunResult] = []
    running = threading.Thread(
        target=lambda: results.append(pipeline.runs.run(RunRequest("baseline")))
    )
    running.start()
    try:
        other = nodepipe.open(pipeline.root)  # as another process reads the store

        def completed_before_plot() -> bool:
            runs = other.runs.history("baseline", limit=1)
            node_runs = other.runs.node_runs(runs[0].id) if runs else []
            done = {n.node_id for n in node_runs if n.state is NodeRunState.COMPLETED}
            return done == {pipeline.nodes.get(tag).id for tag in ("load", "clean")}

        wait_for(completed_before_plot, "load and clean recorded while plot runs", 60)
    finally:
        told.touch()
        running.join()
    assert results[0].finished is not None and results[0].finished.completed == 3
