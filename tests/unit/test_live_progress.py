"""The live line of a run in a terminal (``cli.progress.LiveProgress``): built when rich draws
it, not once per event, while every settled node still gets its line and the counts stay right
as events arrive during a draw (real rich, on a terminal console writing to memory)."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest
from rich.console import Console

from nodepipe.cli import progress as progress_module
from nodepipe.cli.progress import LiveProgress
from nodepipe.domain.events import (
    NodeFinished,
    NodePreparing,
    NodeStarted,
    RunFinished,
    RunStarted,
)
from nodepipe.domain.runs import RunOutcome, RunStatus, TaskOutcome

NODES = [f"n{i:03d}" for i in range(300)]


def test_a_terminal_run_of_many_quick_nodes_builds_its_line_per_draw_not_per_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=160, highlight=False)
    monkeypatch.setattr(progress_module.console, "rich", terminal, raising=False)
    progress = LiveProgress(terminal=True)
    built: list[str] = []
    render = progress._render

    def counting():  # type: ignore[no-untyped-def]
        built.append(threading.current_thread().name)
        return render()

    monkeypatch.setattr(progress, "_render", counting)
    began = time.monotonic()
    with progress:
        progress(RunStarted("r", "p", tuple(NODES), {n: f"tag-{n}" for n in NODES}))
        for node in NODES:
            progress(NodeStarted("r", node, f"run-{node}", 1, "here"))
            outcome = TaskOutcome(f"run-{node}", RunOutcome.COMPLETED, 0, "")
            progress(NodeFinished.ended("r", node, outcome))
        assert progress.done == len(NODES) and not progress.running
        shown = progress._view()  # what the next draw shows
        progress(RunFinished("r", "p", RunStatus.COMPLETED, len(NODES), 0, 0, 0))
    took = time.monotonic() - began
    events = 2 * len(NODES)
    draws = took * (1 / progress_module._FRESH_FOR + progress_module._DRAWS_PER_SECOND)
    assert len(built) <= 3 + draws < events, (len(built), took)  # once per event before
    printed = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert all(f"✔ tag-{node}" in printed for node in NODES)
    assert shown.row_count >= 1


def test_events_during_draws_leave_the_counts_right(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich's refresh thread draws while another thread sends events: nothing is lost and no
    draw fails on a table changing under it."""
    terminal = Console(file=io.StringIO(), force_terminal=True, width=160)
    monkeypatch.setattr(progress_module.console, "rich", terminal, raising=False)
    progress = LiveProgress(terminal=True)
    failures: list[BaseException] = []

    def drawing() -> None:
        for _ in range(2000):
            try:
                progress._drawn = None  # build anew each time
                progress._view()
            except BaseException as exc:  # any failure of a draw is the finding
                failures.append(exc)
                return

    with progress:
        progress(RunStarted("r", "p", tuple(NODES), {}))
        drawer = threading.Thread(target=drawing)
        drawer.start()
        for node in NODES:
            progress(NodeStarted("r", node, f"run-{node}", 1, "here"))
        for node in NODES:
            progress(NodeFinished.ended("r", node, TaskOutcome(f"run-{node}", RunOutcome.FAILED)))
        drawer.join()
    assert not failures
    assert progress.failed == len(NODES) and not progress.running


def test_a_step_with_nothing_to_count_is_said_as_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A node Ray has not started yet: no "(0 / 0 files)" after what it waits for, in a log or
    on the live line."""
    waiting = NodePreparing("r", "n1", "run-n1", "waiting for Ray to start it (CPU=2)", 0, 0, "")
    printed = LiveProgress(terminal=False)
    printed(RunStarted("r", "p", ("n1",), {"n1": "big"}))
    printed(waiting)
    assert "… big: waiting for Ray to start it (CPU=2)\n" in capsys.readouterr().out
    live = LiveProgress(terminal=True)
    live._changed(waiting)
    assert live.preparing == {"n1": "waiting for Ray to start it (CPU=2)"}
