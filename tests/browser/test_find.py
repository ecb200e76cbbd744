"""Find a node (Ctrl+K, "/", the toolbar's Find button) in a 300-node pipeline: it jumps to and
selects a node that is far off-screen, which React Flow does not even have in the page.

With ``NODEPIPE_SCREENSHOTS=1`` it writes docs/screenshots/search.png (1440x900).
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import node, press_in, press_on_canvas, settle
from browser.conftest import Served
from browser.screenshots import save_screenshot

NODES = 300
DRAWN = f"() => document.querySelectorAll('[data-testid=node]').length === {NODES}"


def selected(page: Page, tag: str) -> Locator:
    return page.locator(".react-flow__node.selected", has=node(page, tag))


def find(page: Page, query: str) -> Locator:
    """Type ``query`` in the open find box; its field (where the box's keys go)."""
    box = page.get_by_test_id("find")
    expect(box).to_be_visible()
    field = box.get_by_role("combobox")
    field.fill(query)
    return field


def test_find_jumps_to_an_off_screen_node_and_selects_it(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.shared_envs.new("tools")
    made = ws.nodes.new_many("baseline", [f"n{i:04d}" for i in range(NODES)], shared_env="tools")
    ws.nodes.notes(made[150].id, "reads the raw temperature file", "baseline")
    page.goto(served.link)
    page.wait_for_function(DRAWN)  # fitted to the screen: 300 tiny cards, one long column

    # Ctrl+K, a tag: Enter jumps to it, zoomed in to read it (the other cards leave the page).
    press_on_canvas(page, "Control+k")
    field = find(page, "n0000")
    expect(page.get_by_test_id("find-option").first).to_have_attribute("data-tag", "n0000")
    press_in(field, "Enter")
    expect(page.get_by_test_id("find")).to_have_count(0)
    expect(selected(page, "n0000")).to_be_in_viewport()
    expect(node(page, "n0299")).to_have_count(0)  # far off-screen: not in the page at all

    # "/", part of a tag: ranked, arrow keys move, Enter jumps to the off-screen node.
    settle(page)  # the jump's pan is over
    press_on_canvas(page, "/")
    field = find(page, "0299")
    options = page.get_by_test_id("find-option")
    expect(options.first).to_have_attribute("data-tag", "n0299")
    press_in(field, "ArrowDown")
    press_in(field, "ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    press_in(field, "Enter")
    expect(selected(page, "n0299")).to_be_in_viewport()
    expect(page.locator(".react-flow__node.selected")).to_have_count(1)
    expect(node(page, "n0000")).to_have_count(0)

    # The toolbar button; notes and ids are searched too; a click on a result jumps there.
    page.get_by_test_id("find-node").click()
    find(page, "temperature")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("reads the raw temperature file")
    options.first.click()
    expect(selected(page, "n0150")).to_be_in_viewport()

    settle(page)
    press_on_canvas(page, "Control+k")
    field = find(page, made[42].id)
    expect(options.first).to_have_attribute("data-tag", "n0042")
    press_in(field, "Escape")
    expect(page.get_by_test_id("find")).to_have_count(0)
    expect(selected(page, "n0150")).to_be_in_viewport()  # Escape closed the box, nothing moved

    press_on_canvas(page, "Control+k")
    find(page, "n02")
    expect(options).to_have_count(50)
    find(page, "zzz0")  # no id holds a 0 (domain.ids), no tag a z: one id in ~100 runs began "zzz"
    expect(page.get_by_test_id("find")).to_contain_text("No node matches")
    expect_accessible(page, "the find box finding nothing", "[data-testid=find]")
    find(page, "n02")
    expect(options.first).to_have_attribute("data-tag", "n0200")
    expect_accessible(page, "the find box with results", "[data-testid=find]")
    save_screenshot(page, "search.png")
