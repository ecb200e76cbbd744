"""The careful update workflow in the web app: Replace… swaps a tagged duplicate in, and a node
running with an existing interpreter is marked "not isolated" on its card (issue 14)."""

from __future__ import annotations

import sys

from playwright.sync_api import Page, expect

from browser.canvas import node, right_click
from browser.conftest import Served


def test_replace_menu_item_and_the_not_isolated_card(page: Page, served: Served) -> None:
    ws = served.workspace
    for tag in ("load", "clean", "plot"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    ws.edges.connect("clean", "plot", "baseline")
    (copy,) = ws.node_copies.duplicate(["clean"], "baseline", tag="clean-v2")
    ws.isolation.use_interpreter("clean-v2", sys.executable)
    page.goto(served.link)
    expect(node(page, "clean-v2").get_by_test_id("not-isolated")).to_be_visible(timeout=30_000)
    expect(node(page, "clean").get_by_test_id("not-isolated")).to_have_count(0)

    right_click(page, "clean").get_by_role("menuitem", name="Replace…").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator("select").select_option(label=f"clean-v2 ({copy.id})")
    page.get_by_test_id("dialog-confirm").click()
    expect(page.locator("[data-sonner-toast]", has_text="clean-v2 replaces clean")).to_be_visible()
    expect(node(page, "clean")).to_have_count(0, timeout=30_000)
    assert [(x.slot, x.tag) for x in ws.nodes.show("plot").inputs] == [("01", "clean-v2")]
