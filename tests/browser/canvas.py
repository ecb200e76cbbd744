"""Driving the graph editor like a person: nodes by tag, handles, menus, dialogs."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from browser.conftest import Served


def node(page: Page, tag: str) -> Locator:
    return page.locator(f'[data-testid="node"][data-tag="{tag}"]')


def open_panel(page: Page, tag: str) -> Locator:
    """Double-click the node's card until its panel is the one shown: the canvas may still be
    moving (the panel opening narrows it) when a busy browser delivers the clicks."""
    panel = page.get_by_test_id("node-panel")
    for _ in range(3):
        node(page, tag).dblclick()
        try:
            expect(panel).to_have_attribute("aria-label", f"node {tag}", timeout=5_000)
            return panel
        except AssertionError:
            continue
    expect(panel).to_have_attribute("aria-label", f"node {tag}")
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


def drag_edge(page: Page, parent: str, child: str) -> None:
    """Drag from the parent's output handle to the child's input handle."""
    start = centre(node(page, parent).locator(".handle-out"))
    end = centre(node(page, child).locator(".handle-in"))
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 20, steps=8)
    page.mouse.move(*end, steps=8)
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
