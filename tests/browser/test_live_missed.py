"""A page that misses a run's end still shows what the store says (audit4 F3).

The event stream is the page's only news of a run: a page that misses ``run_finished`` (the
stream reconnected after ``nodepipe serve`` restarted, or the hub told a slow page to
``resync``) refetches, and its cards leave the run's 'running' for the state the store holds,
without a reload. Each test runs a node gated on a file, so the run is mid-way when it is cut.
A run of another process the server saw only once it had ended is told to the page too.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

import nodepipe
from api.live import server_process
from browser.canvas import expect_state, open_panel
from browser.conftest import Served
from browser.gates import gated
from nodepipe.services.runs.service import RunRequest
from support.waiting import wait_for


def _start_run(url: str, headers: dict[str, str]) -> None:
    answer = httpx.post(f"{url}/api/pipelines/baseline/runs", json={}, headers=headers)
    assert answer.status_code == 202, answer.text


def test_a_page_that_reconnects_after_a_server_restart_shows_the_runs_end(
    page: Page, served: Served, gate: Path, tmp_path: Path
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "slow")
    (ws.nodes.path("slow") / "code" / "main.py").write_text(gated(gate))
    page.goto(served.link)
    expect_state(page, "slow", "ready", 30_000)
    page.evaluate("window.__notReloaded = true")
    _start_run(served.url, served.headers)
    expect_state(page, "slow", "running", 90_000)

    os.kill(served.live.pid, signal.SIGKILL)  # the server goes, mid-run; the page loses it
    os.waitpid(served.live.pid, 0)  # and is reaped (this process started it): it is gone
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "false")
    gate.touch()  # the node's process (the dead server's child) may end now
    with server_process(ws.root, tmp_path / "again.log", again=served.live) as again:
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
        stored = wait_for(lambda: _settled(again.url, again.headers), "the store to end the run")
        assert stored == "failed"  # the run was interrupted: its orchestrator is gone
        expect_state(page, "slow", stored, 30_000)
        panel = open_panel(page, "slow")  # the panel follows the store too, not the run
        expect(panel.get_by_test_id("reasons")).to_contain_text("interrupted")
    assert page.evaluate("window.__notReloaded === true")  # the same page all along


def _settled(url: str, headers: dict[str, str]) -> str | None:
    """The node's state as the server holds it, once no longer the run's."""
    answer = httpx.get(f"{url}/api/pipelines/baseline", headers=headers)
    assert answer.status_code == 200, answer.text
    (slow,) = [n for n in answer.json()["nodes"] if n["tag"] == "slow"]
    state: str = slow["state"]
    return None if state in ("queued", "running") else state


def test_a_page_told_to_resync_instead_of_the_runs_end_shows_it(
    page: Page, gate: Path, tmp_path: Path
) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    ws.nodes.new("baseline", "slow")
    (ws.nodes.path("slow") / "code" / "main.py").write_text(gated(gate))
    log = tmp_path / "server.log"
    try:
        with server_process(ws.root, log, module="browser.lossy_server") as live:
            page.goto(live.link)
            expect_state(page, "slow", "ready", 30_000)
            page.evaluate("window.__notReloaded = true")
            _start_run(live.url, live.headers)
            expect_state(page, "slow", "running", 90_000)
            gate.touch()  # the run ends; the page gets `resync` in place of `run_finished`
            stored = wait_for(lambda: _settled(live.url, live.headers), "the run to end")
            assert stored == "completed"
            expect_state(page, "slow", "completed", 30_000)
            assert page.evaluate("window.__notReloaded === true")
    finally:
        ws.close()


def test_a_run_of_another_process_over_before_the_server_looks_reaches_the_page(
    page: Page, served: Served
) -> None:
    """The server looks for other processes' runs (``nodepipe run`` in a terminal) in the store
    once a second: a quick one starts and ends between two looks, and the open page still
    shows its outcome, without a reload (it showed the node 'ready' until reloaded)."""
    ws = served.workspace
    ws.nodes.new("baseline", "quick")
    page.goto(served.link)
    expect_state(page, "quick", "ready", 30_000)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    page.evaluate("window.__notReloaded = true")
    ws.runs.run(RunRequest("baseline"))  # run by this process, not by the server
    assert ws.nodes.get("quick").state.value == "completed"
    expect_state(page, "quick", "completed", 30_000)
    assert page.evaluate("window.__notReloaded === true")
