"""Level of detail: 300 nodes zoomed to fit keep their state colours and can be read.

Before, zoomed-out cards were unlabelled blocks: nothing on screen (no text, no tooltip) said
which node was which.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from browser.accessibility import expect_accessible
from browser.conftest import Served

NODES = 300
DRAWN = f"() => document.querySelectorAll('[data-testid=node]').length === {NODES}"
STATE_COLOURED = """() => [...document.querySelectorAll('[data-testid=node]')].every(card => {
  const look = getComputedStyle(card).getPropertyValue('--look-' + card.dataset.state).trim();
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.fillStyle = look;
  const want = ctx.fillStyle;
  ctx.fillStyle = getComputedStyle(card).backgroundColor;
  return want === ctx.fillStyle;
})"""
IN_VIEW = """() => {
  const pane = document.querySelector('.react-flow').getBoundingClientRect();
  return [...document.querySelectorAll('[data-testid=node]')].filter(card => {
    const box = card.getBoundingClientRect();
    const inside = box.left >= pane.left && box.right <= pane.right && box.top >= pane.top
      && box.bottom <= pane.bottom;
    // not under the toolbar, the legend or the minimap
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return inside && top?.closest('[data-testid=node]') === card;
  }).map(card => card.dataset.tag);
}"""


def build(served: Served) -> None:
    """300 nodes in a tree (each node's parent a third of the way up), as a big pipeline is."""
    ws = served.workspace
    nodes = ws.nodes.new_many("baseline", [f"n{i:04d}" for i in range(NODES)])
    for i, node in enumerate(nodes[1:], start=1):
        ws.edges.connect(nodes[(i - 1) // 3].id, node.id, "baseline")


def label_height(card: Locator) -> float:
    box = card.locator(".step-block-tag").bounding_box()
    assert box is not None, "the block's tag is not shown"
    return box["height"]


def test_300_nodes_zoomed_to_fit_keep_colours_and_labels(page: Page, served: Served) -> None:
    build(served)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(served.link)
    page.wait_for_function(DRAWN, timeout=60_000)
    page.get_by_role("button", name="Fit View").click()
    flow = page.locator(".react-flow")
    expect(flow).to_have_attribute("data-lod", "tiny")
    # Zoomed right out: every block is in its state's colour and says its tag on hover.
    assert page.evaluate(STATE_COLOURED)
    tags: list[str] = page.evaluate(IN_VIEW)
    assert len(tags) > 100, tags
    tag = tags[len(tags) // 2]
    card = page.locator(f'[data-testid="node"][data-tag="{tag}"]')
    expect(card).to_have_attribute("title", re.compile(rf"^{tag} \("))
    expect(card.locator(".step-block-tag")).to_be_hidden()  # rows too close: no pile of labels
    card.hover()
    expect(card.locator(".step-block-tag")).to_be_visible()
    assert label_height(card) >= 9

    # Zoomed in a little: every block in view shows its tag at a readable size.
    zoom_in = page.get_by_role("button", name="Zoom In")
    while flow.get_attribute("data-lod") == "tiny":
        zoom_in.click()
    expect(flow).to_have_attribute("data-lod", "block")
    page.mouse.move(5, 5)
    shown: list[str] = page.evaluate(IN_VIEW)
    assert len(shown) > 20, shown
    for tag in shown[:: max(1, len(shown) // 10)]:
        card = page.locator(f'[data-testid="node"][data-tag="{tag}"]')
        expect(card.locator(".step-block-tag")).to_have_text(tag)
        assert label_height(card) >= 9, tag
    assert page.evaluate(STATE_COLOURED)
    expect_accessible(page, "zoomed-out blocks", ".react-flow")
