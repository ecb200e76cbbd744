"""Driving the graph editor like a person: nodes by tag, handles, menus, dialogs."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from browser.conftest import Served


def node(page: Page, tag: str) -> Locator:
    return page.locator(f'[data-testid="node"][data-tag="{tag}"]')


# Whether the canvas has stood still for a few frames: the view's pan and zoom and the canvas's
# own box (the side panel narrows it). State is kept per wait (its key), never across waits.
SETTLED = """([key, frames]) => {
  const view = document.querySelector('.react-flow__viewport');
  const pane = document.querySelector('.react-flow');
  if (!view || !pane) return false;
  const box = pane.getBoundingClientRect();
  const now = [view.style.transform, box.left, box.top, box.width, box.height].join();
  const seen = (window.__settled ??= {});
  const last = seen[key];
  seen[key] = { now, same: last && last.now === now ? last.same + 1 : 0 };
  return seen[key].same >= frames;
}"""
# Whether a canvas shortcut is listened to: no field has the focus and no dialog is open.
CANVAS_KEYS = """() => {
  const e = document.activeElement;
  const typing = e && (e.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName));
  return !typing && !document.querySelector('[data-testid=dialog]');
}"""
_waits = itertools.count()


def settle(page: Page) -> None:
    """Wait until the canvas stops moving (fitted on load, panned to reveal a node, narrowed by
    the side panel): a click aimed at a card then lands on that card."""
    page.wait_for_function(SETTLED, arg=[next(_waits), 4], polling="raf")


def selected(page: Page, tag: str) -> Locator:
    return page.locator(".react-flow__node.selected", has=node(page, tag))


def select(page: Page, tag: str, add: bool = False) -> None:
    """Click the node's card (with Shift: added to the selection) once the canvas stands still,
    and wait until the card shows it is selected (a key pressed before would reach nothing)."""
    for _ in range(1 if add else 2):  # with Shift, a second click would take it out again
        settle(page)
        node(page, tag).click(modifiers=["Shift"] if add else None)
        try:  # a click is lost when a live reload re-renders the canvas under it (CI, load 20)
            expect(selected(page, tag)).to_have_count(1, timeout=5_000)
            return
        except AssertionError:
            continue  # a plain click on a card selects it again: nothing toggles
    expect(selected(page, tag)).to_have_count(1)


def right_click(page: Page, tag: str) -> Locator:
    """The node's context menu, opened on a canvas that stands still."""
    settle(page)
    node(page, tag).click(button="right")
    menu = page.get_by_test_id("context-menu")
    expect(menu).to_be_visible()
    return menu


def press_on_canvas(page: Page, keys: str) -> None:
    """A canvas shortcut, pressed once the app listens to it (no field focused, no dialog)."""
    page.wait_for_function(CANVAS_KEYS)
    page.keyboard.press(keys)


def press_in(target: Locator, keys: str) -> None:
    """Keys for a field, a dialog, a menu or a sheet, pressed once the focus is inside it: it
    takes the focus when it listens to its keys (pressed earlier they go elsewhere)."""
    expect(target.and_(target.page.locator(":focus-within"))).to_have_count(1)
    target.page.keyboard.press(keys)


def open_panel(page: Page, tag: str, tab: str | None = None) -> Locator:
    """Click the node's card once the canvas stands still (one click opens its panel; the
    second of a double click could land where the narrowed canvas moved something else), wait
    for its panel, and show the ``tab`` asked for."""
    select(page, tag)
    panel = page.get_by_test_id("node-panel")
    expect(panel).to_have_attribute("aria-label", f"node {tag}")
    if tab is not None:
        panel.get_by_role("tab", name=tab).click()
        expect(panel.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
    return panel


def create_node(page: Page, tag: str) -> None:
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator("input").fill(tag)
    dialog.get_by_test_id("dialog-confirm").click()
    expect(node(page, tag)).to_be_visible(timeout=30_000)


def centre(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, "not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def hold_edge(page: Page, parent: str, child: str, backwards: bool = False) -> None:
    """Drag from the parent's output handle onto the child's input handle (measured on a canvas
    that stands still) and hold it there, not dropped yet; ``backwards``: from the child's input
    onto the parent's output."""
    settle(page)
    start = centre(node(page, parent).locator(".handle-out"))
    end = centre(node(page, child).locator(".handle-in"))
    if backwards:
        start, end = end, start
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 20, steps=8)
    page.mouse.move(*end, steps=8)


def drag_edge(page: Page, parent: str, child: str, backwards: bool = False) -> None:
    """Drag from the parent's output handle to the child's input handle and drop it there."""
    hold_edge(page, parent, child, backwards)
    page.mouse.up()


def menu_item(page: Page, label: str) -> Locator:
    return page.get_by_test_id("context-menu").get_by_role("menuitem", name=label)


def expect_state(page: Page, tag: str, state: str, timeout: float = 60_000) -> None:
    expect(node(page, tag)).to_have_attribute("data-state", state, timeout=timeout)


def server_graph(served: Served, pipeline: str = "baseline") -> dict[str, Any]:
    """The pipeline as the server holds it (what the app's edits really changed)."""
    answer = httpx.get(f"{served.url}/api/pipelines/{pipeline}", headers=served.headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def server_edges(served: Served, pipeline: str = "baseline") -> set[tuple[str, str, str]]:
    """The pipeline's edges as (parent tag, child tag, slot)."""
    shown = server_graph(served, pipeline)
    tag = {n["id"]: n["tag"] for n in shown["nodes"]}
    return {(tag[e["parent_id"]], tag[e["child_id"]], e["slot"]) for e in shown["edges"]}
