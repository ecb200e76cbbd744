"""No serious or critical accessibility violation (axe-core) on the app's main views: the canvas
with nodes and the sidebar, the node panel on each tab, a dialog, a context menu, an empty
pipeline; in the light and the dark theme."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import expect_state, node
from browser.conftest import Served
from nodepipe.services.runs.service import RunRequest
from support.worlds import CHAIN, add_nodes

TABS = ("Overview", "Parameters", "Environment", "Runs", "Log")
FIRST = next(iter(CHAIN))


def check_views(page: Page, theme: str) -> None:
    """The canvas and sidebar, the node panel on each tab, a node's menu, a dialog."""
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect_accessible(page, f"{theme}: canvas with nodes and the sidebar")
    node(page, FIRST).click()
    panel = page.get_by_test_id("node-panel")
    for tab in TABS:
        panel.get_by_role("tab", name=tab).click()
        expect(panel.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        expect(panel.locator(".panel-body")).not_to_contain_text("Loading…")
        expect(panel.locator(".panel-body")).not_to_have_text("…")
        expect_accessible(page, f"{theme}: node panel, {tab} tab")

    node(page, FIRST).click(button="right")
    expect(page.get_by_test_id("context-menu")).to_be_visible()
    expect_accessible(page, f"{theme}: context menu of a node")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("context-menu")).to_have_count(0)

    page.get_by_test_id("new-node").click()
    expect(page.get_by_test_id("dialog")).to_be_visible()
    expect_accessible(page, f"{theme}: the New node dialog")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("dialog")).to_have_count(0)


def test_the_main_views_have_no_serious_violations(page: Page, served: Served) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.runs.run(RunRequest("baseline"))
    ws.pipelines.new("empty", project="climate")
    page.goto(served.link)
    expect_state(page, FIRST, "completed", 30_000)
    check_views(page, "light")
    page.get_by_title("Light or dark theme").click()
    check_views(page, "dark")

    page.get_by_test_id("pipeline-item").filter(has_text="empty").click()
    expect(page.get_by_test_id("empty-hint")).to_be_visible()
    expect_accessible(page, "an empty pipeline")
