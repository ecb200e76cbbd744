"""The app by keyboard alone (issue 16, finding 8): sidebar projects and pipelines, skip links to
the toolbar and the canvas on a large pipeline, nodes (focus ring, Enter, the menu key), dialogs
that keep the focus inside and give it back."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from browser.canvas import node, right_click
from browser.conftest import Served
from support.worlds import CHAIN, add_nodes, trivial_tree

NODES = 300
IN_TOOLBAR = "() => !!document.activeElement?.closest('[role=toolbar]')"
FOCUSED_NAME = "() => { const e = document.activeElement; return e?.ariaLabel ?? e?.textContent; }"
INSIDE = "d => d.contains(document.activeElement)"


def focused(page: Page) -> Locator:
    return page.locator("*:focus")


def tab_to(page: Page, target: Locator, limit: int = 30) -> int:
    """Press Tab until ``target`` has the focus; how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("e => e === document.activeElement"):
            return presses
    ended = page.evaluate(FOCUSED_NAME)
    raise AssertionError(f"Tab never reached it in {limit} presses (ended on {ended!r})")


def test_projects_and_pipelines_are_reached_and_opened_by_keyboard(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "fetch")
    ws.projects.new("energy")
    ws.pipelines.new("tuned", project="climate")
    ws.nodes.new("tuned", "sweep")
    page.goto(served.link)
    expect(node(page, "fetch")).to_be_visible()

    tuned = page.get_by_test_id("pipeline-item").filter(has_text="tuned")
    tab_to(page, tuned.get_by_role("button", name="tuned", exact=True))
    page.keyboard.press("Enter")
    expect(page.locator(".toolbar-title b")).to_have_text("tuned")
    expect(node(page, "sweep")).to_be_visible()

    # The row's "…" button is the next stop: visible once focused, Enter opens its menu, and
    # Escape gives the focus back to it.
    actions = tuned.get_by_role("button", name="actions of pipeline tuned")
    page.keyboard.press("Tab")
    expect(actions).to_be_focused()
    expect(actions).to_have_css("opacity", "1")
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("context-menu")
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(actions).to_be_focused()
    # A dialog chosen from that menu gives the focus back to the "…" button too (it went to
    # the page's top: the menu item that had it was gone when the dialog opened), and Escape
    # changes nothing.
    for item in ("Rename…", "Notes…", "Build package…"):
        page.keyboard.press("Enter")
        chosen = menu.get_by_role("menuitem", name=item)
        while not chosen.evaluate("e => e === document.activeElement"):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        dialog = page.get_by_test_id("dialog")
        expect(dialog.locator("input, textarea").first).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(actions).to_be_focused()
    assert [p.tag for p in ws.pipelines.list()] == ["baseline", "tuned"]

    energy = page.locator(".item").filter(has_text="energy")
    energy.get_by_role("button", name="energy", exact=True).focus()
    page.keyboard.press("Enter")
    heading = page.locator(".section-header h3").filter(has_text="Pipelines of")
    expect(heading).to_have_text("Pipelines of energy")

    # The toolbar still answers the mouse (an earlier attempt at this broke its clicks).
    page.get_by_test_id("new-node").click()
    expect(page.get_by_test_id("dialog")).to_be_visible()


def test_a_dialog_keeps_the_focus_and_gives_it_back(page: Page, served: Served) -> None:
    served.workspace.nodes.new("baseline", "fetch")
    page.goto(served.link)
    expect(node(page, "fetch")).to_be_visible()
    opener = page.get_by_test_id("new-node")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input").first).to_be_focused()
    for _ in range(12):  # more presses than the dialog has controls, both ways
        page.keyboard.press("Tab")
        assert dialog.evaluate(INSIDE), page.evaluate(FOCUSED_NAME)
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        assert dialog.evaluate(INSIDE), page.evaluate(FOCUSED_NAME)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()

    # The shortcut sheet is a dialog too.
    help_button = page.get_by_role("button", name="Keyboard shortcuts")
    help_button.focus()
    page.keyboard.press("Enter")
    sheet = page.get_by_test_id("shortcut-sheet")
    expect(sheet).to_be_visible()
    for _ in range(4):
        page.keyboard.press("Tab")
        assert sheet.evaluate(INSIDE), page.evaluate(FOCUSED_NAME)
    page.keyboard.press("Escape")
    expect(sheet).to_have_count(0)
    expect(help_button).to_be_focused()

    # A dialog opened from a node's menu has the focus too (the closing menu gave it back to the
    # node behind the dialog, and Tab left the dialog).
    right_click(page, "fetch").get_by_role("menuitem", name="Delete outputs…").click()
    expect(dialog).to_contain_text("fetch")
    expect(dialog.and_(page.locator(":focus-within"))).to_have_count(1)
    for _ in range(4):
        page.keyboard.press("Tab")
        assert dialog.evaluate(INSIDE), page.evaluate(FOCUSED_NAME)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


def test_skip_links_reach_the_toolbar_and_the_nodes_of_a_large_pipeline(
    page: Page, served: Served
) -> None:
    trivial_tree(served.workspace, "baseline", NODES)
    page.goto(served.link)
    expect(node(page, "n0000")).to_be_visible(timeout=60_000)

    # From the top of the page: one Tab to the skip link, Enter, and the toolbar has the focus.
    skip = page.get_by_role("button", name="Skip to toolbar")
    assert tab_to(page, skip) == 1
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate(IN_TOOLBAR), page.evaluate(FOCUSED_NAME)
    expect(page.get_by_test_id("new-node")).to_be_focused()

    # "Skip to canvas" puts the focus on a node: a ring shows it, Enter opens its panel, the
    # menu key (Shift+F10) its menu, and Escape gives the focus back to the node.
    skip.focus()  # the page's first stop; the next one skips to the canvas
    assert tab_to(page, page.get_by_role("button", name="Skip to canvas")) == 1
    page.keyboard.press("Enter")
    card = page.locator(".react-flow__node:focus")
    expect(card).to_have_count(1)
    tag = card.get_attribute("aria-label")
    assert tag and tag.startswith("node "), tag
    expect(card.locator(".step")).not_to_have_css("outline-style", "none")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("node-panel")).to_have_attribute("aria-label", tag)
    focused_card = page.locator(f'.react-flow__node[aria-label="{tag}"]')
    expect(focused_card).to_be_focused()
    page.keyboard.press("Escape")  # the panel closes; the card keeps the focus (it was lost)
    expect(page.get_by_test_id("node-panel")).to_have_count(0)
    expect(focused_card).to_be_focused()
    card = focused_card
    card.focus()
    page.keyboard.press("Shift+F10")
    menu = page.get_by_test_id("context-menu")
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(card).to_be_focused()


def test_an_edge_reached_by_tab_is_named_by_its_nodes_tags_and_input(
    page: Page, served: Served
) -> None:
    """Tab reaches each edge of the canvas; a screen reader said "Edge from 7b9aup4g to
    k2mq8d1x" (the nodes' ids): it says the tags and the input slot."""
    add_nodes(served.workspace, "baseline", CHAIN)
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()
    edge = page.locator('[aria-roledescription="edge"]').first
    tab_to(page, edge)
    labels = page.locator('[aria-roledescription="edge"]').evaluate_all(
        "edges => edges.map((e) => e.getAttribute('aria-label')).sort()"
    )
    assert labels == [
        "edge from clean to plot, input 01",
        "edge from load to clean, input 01",
    ], labels
