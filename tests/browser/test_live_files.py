"""Edits in node folders reach the open page live (issue 14, finding 6): saving main.py on disk
turns the node's card, and its child's, stale without a reload; undoing the edit brings them
back to completed. A page opened in the middle of another process's run follows edits after it."""

from __future__ import annotations

import threading
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.canvas import expect_state, node
from browser.conftest import Served
from browser.gates import gated
from nodepipe.services.runs.service import RunRequest


def test_an_edit_on_disk_turns_the_card_stale_without_reload(page: Page, served: Served) -> None:
    ws = served.workspace
    for tag in ("load", "clean"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    ws.runs.run(RunRequest("baseline"))
    page.goto(served.link)
    expect_state(page, "load", "completed", 30_000)
    expect_state(page, "clean", "completed", 30_000)
    page.evaluate("window.__notReloaded = true")
    main = ws.nodes.path("load") / "code" / "main.py"
    original = main.read_text()
    main.write_text(original + "\n# edited in an editor\n")
    expect_state(page, "load", "stale", 30_000)
    expect_state(page, "clean", "stale", 30_000)
    main.write_text(original)
    expect_state(page, "load", "completed", 30_000)
    assert page.evaluate("window.__notReloaded === true")  # the same page all along


def test_a_page_opened_mid_run_follows_edits_after_the_run(
    page: Page, served: Served, gate: Path
) -> None:
    """A page loaded while another process's run goes on never saw the run start; the end of the
    run still hands the cards back to what the server says (an edit turns them stale)."""
    ws = served.workspace
    ws.nodes.new("baseline", "slow")
    main = ws.nodes.path("slow") / "code" / "main.py"
    main.write_text(gated(gate))
    run = threading.Thread(target=ws.runs.run, args=(RunRequest("baseline"),), daemon=True)
    run.start()
    try:
        page.goto(served.link)
        expect_state(page, "slow", "running", 90_000)  # the page saw the run start
        page.reload()  # this one did not
        expect(node(page, "slow")).to_be_visible()
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    finally:
        gate.touch()
        run.join(120)
    assert not run.is_alive()
    assert ws.nodes.get("slow").state.value == "completed"
    expect_state(page, "slow", "completed", 30_000)
    main.write_text(main.read_text() + "# edited after the run\n")
    expect_state(page, "slow", "stale", 30_000)
