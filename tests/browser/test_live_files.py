"""Edits in node folders reach the open page live (issue 14, finding 6): saving main.py on disk
turns the node's card, and its child's, stale without a reload; undoing the edit brings them
back to completed."""

from __future__ import annotations

from playwright.sync_api import Page

from browser.canvas import expect_state
from browser.conftest import Served
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
