"""Finding the way around: the address names the pipeline, Back/forward switch it, and menus
stay inside the window and answer the arrow keys."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Locator, Page, expect

from browser.canvas import centre, node, select
from browser.conftest import Served


def open_pipeline(page: Page, tag: str) -> None:
    page.get_by_test_id("pipeline-item").filter(has_text=tag).click()
    expect(page.locator(".toolbar-title b")).to_have_text(tag)


def test_back_forward_and_the_address_switch_pipelines(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "fetch")
    other = ws.pipelines.new("tuned", project="climate")
    ws.nodes.new("tuned", "sweep")
    page.goto(served.link)
    expect(node(page, "fetch")).to_be_visible()
    open_pipeline(page, "tuned")
    expect(node(page, "sweep")).to_be_visible()
    assert page.url.endswith(f"#pipeline={other.id}")

    page.go_back()
    expect(page.locator(".toolbar-title b")).to_have_text("baseline")
    expect(node(page, "fetch")).to_be_visible()
    page.go_forward()
    expect(page.locator(".toolbar-title b")).to_have_text("tuned")
    expect(node(page, "sweep")).to_be_visible()

    # An address edited by hand (an id or a tag) opens that pipeline.
    page.evaluate("location.hash = '#pipeline=baseline'")
    expect(node(page, "fetch")).to_be_visible()
    expect(node(page, "sweep")).to_have_count(0)


def test_a_menu_opened_low_in_a_small_window_is_whole_and_keyboard_driven(
    browser: Browser, served: Served
) -> None:
    served.workspace.nodes.new("baseline", "fetch")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(served.link)
        card = node(page, "fetch")
        expect(card).to_be_visible()
        x, y = centre(card)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, 760, steps=10)
        page.mouse.up()
        card.click(button="right")
        menu = page.get_by_test_id("context-menu")
        expect(menu).to_be_visible()
        box = menu.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, box
        delete = menu.get_by_role("menuitem", name=re.compile("^Delete…"))
        expect(delete).to_be_in_viewport(ratio=1)

        # The first item has the focus; the arrow keys move through the items, End to the last.
        items = menu.get_by_role("menuitem")
        expect(items.first).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(items.nth(1)).to_be_focused()
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowUp")
        expect(items.last).to_be_focused()
        page.keyboard.press("Escape")
        expect(menu).to_have_count(0)
    finally:
        context.close()


def assert_apart(one: Locator, other: Locator) -> None:
    a, b = one.bounding_box(), other.bounding_box()
    assert a is not None and b is not None
    apart = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
    apart = apart or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    assert apart, (a, b)


def test_an_empty_pipeline_says_how_to_start_and_the_legend_leaves_fit_view_free(
    browser: Browser, served: Served
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(served.link)
        hint = page.get_by_test_id("empty-hint")
        expect(hint).to_contain_text("New node")
        fit = page.locator(".react-flow__controls-fitview")
        legend = page.locator(".legend")
        expect(legend).to_be_visible()
        assert_apart(fit, legend)
        fit.click(trial=True, timeout=5_000)
        page.get_by_test_id("new-node").click()
        dialog = page.get_by_test_id("dialog")
        dialog.locator("input").fill("first")
        dialog.get_by_test_id("dialog-confirm").click()
        expect(node(page, "first")).to_be_visible(timeout=30_000)
        expect(hint).to_have_count(0)
        select(page, "first")  # the side panel opens: the canvas is narrower
        expect(page.get_by_test_id("node-panel")).to_be_visible()
        assert_apart(fit, legend)
        fit.click(trial=True, timeout=5_000)
    finally:
        context.close()
