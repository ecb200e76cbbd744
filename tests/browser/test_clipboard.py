"""Copy and paste nodes (Ctrl+C / Ctrl+V and the menus' Copy / Paste): copies within the same
pipeline and into another one, the edges among the copied nodes kept, the copies selected; undo
deletes the pasted copies. Also the `?` sheet: every shortcut of the one table, with its keys."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import (
    menu_item,
    node,
    press_in,
    press_on_canvas,
    right_click,
    select,
    server_edges,
    settle,
)
from browser.conftest import Served


def test_copy_and_paste_within_and_across_pipelines(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.shared_envs.new("tools")
    for tag in ("load", "clean", "plot"):
        ws.nodes.new("baseline", tag, shared_env="tools")
    (ws.nodes.path("clean", "baseline") / "code" / "main.py").write_text("print('cleaning')\n")
    ws.edges.connect("load", "clean", "baseline")
    ws.edges.connect("clean", "plot", "baseline")
    ws.pipelines.new("other", project="climate")
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()

    # Ctrl+C on two selected nodes, Ctrl+V in the same pipeline: copies with their edge.
    select(page, "clean")
    select(page, "plot", add=True)
    press_on_canvas(page, "Control+c")
    expect(page.locator("[data-sonner-toast]", has_text="Copied clean, plot")).to_be_visible()
    press_on_canvas(page, "Control+v")
    expect(node(page, "clean-copy")).to_be_visible(timeout=60_000)
    expect(node(page, "plot-copy")).to_be_visible()
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    expect(page.locator(".react-flow__node.selected", has=node(page, "plot-copy"))).to_have_count(1)
    copy = ws.nodes.get("clean-copy", "baseline")
    assert ("clean-copy", "plot-copy", "01") in server_edges(served)
    assert ("load", "clean-copy", "01") in server_edges(served)  # the outside parent, same slot
    assert (ws.nodes.path(copy.id) / "code" / "main.py").read_text() == "print('cleaning')\n"
    undo = page.get_by_test_id("undo")
    expect(undo).to_have_attribute("title", "Undo paste clean-copy, plot-copy (Ctrl+Z)")
    page.get_by_test_id("undo").click()
    expect(node(page, "clean-copy")).to_have_count(0)
    expect(node(page, "plot-copy")).to_have_count(0)
    assert {n.tag for n in ws.nodes.list("baseline")} == {"load", "clean", "plot"}

    # The menus: Copy on a node, switch pipeline, Paste on the empty canvas.
    press_on_canvas(page, "Escape")
    page.get_by_title("Fit to screen").click()
    right_click(page, "load").get_by_role("menuitem", name="Copy Ctrl+C").click()
    page.get_by_test_id("pipeline-item").filter(has_text="other").click()
    expect(page.locator(".toolbar-title b")).to_have_text("other")
    settle(page)
    page.locator(".react-flow__pane").click(button="right", position={"x": 300, "y": 300})
    menu_item(page, "Paste").click()
    expect(node(page, "load")).to_be_visible(timeout=60_000)
    pasted = ws.nodes.get("load", "other")
    assert pasted.id != ws.nodes.get("load", "baseline").id
    assert pasted.owner_pipeline_id == ws.pipelines.get("other").id


def test_the_shortcut_sheet_lists_every_shortcut(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    page.goto(served.link)
    expect(node(page, "load")).to_be_visible()
    press_on_canvas(page, "Shift+?")
    sheet = page.get_by_test_id("shortcut-sheet")
    expect(sheet).to_be_visible()
    # Every row of the table, and where each works: test_shortcut_table.py.
    expected = {
        "find": "Ctrl+K or /",
        "undo": "Ctrl+Z",
        "redo": "Ctrl+Shift+Z or Ctrl+Y",
        "copy": "Ctrl+C",
        "paste": "Ctrl+V",
        "selectAll": "Ctrl+A",
        "deleteSelection": "Del or Backspace",
        "escape": "Esc",
        "help": "?",
        "openNode": "Enter",
        "nodeMenu": "Shift+F10 or Menu key",
    }
    for shortcut, keys in expected.items():
        expect(sheet.locator(f'[data-shortcut="{shortcut}"] .sheet-keys')).to_have_text(keys)
    expect(sheet.locator('[data-shortcut="find"]')).to_contain_text("Find a node")
    expect_accessible(page, "the shortcut sheet", "[data-testid=shortcut-sheet]")
    press_in(sheet, "Escape")
    expect(sheet).to_have_count(0)
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(sheet).to_be_visible()
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_have_count(0)
