"""The overview layer: a huge pipeline zoomed out is painted in one canvas, every node findable.

Before, 10,000 nodes zoomed out were thousands of DOM cards and SVG paths: 17-22 s to the first
draw and about 3 frames a second while panning. Past 2,000 nodes, zoomed out, the canvas paints
them instead; a click on a block still selects its node, find still jumps to any node, and
zooming in brings back the cards.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import press_in, press_on_canvas, settle
from browser.conftest import Served
from nodepipe.live.canvas import CanvasService

NODES = 2100  # just past the overview's threshold (2,000): enough to show it, quick to build
COLUMNS = 42
# Each block's colour at its centre, read from the canvas, against its state's colour.
WRONG_BLOCKS = """([points, state]) => {
  const flow = document.querySelector('.react-flow');
  const look = getComputedStyle(flow).getPropertyValue('--look-' + state).trim();
  const probe = document.createElement('canvas').getContext('2d');
  probe.fillStyle = look;
  probe.fillRect(0, 0, 1, 1);
  const want = [...probe.getImageData(0, 0, 1, 1).data.slice(0, 3)];
  const canvas = document.querySelector('[data-testid=overview]');
  const ratio = canvas.width / canvas.clientWidth;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const viewport = document.querySelector('.react-flow__viewport');
  const view = new DOMMatrix(getComputedStyle(viewport).transform);
  return points.filter(([tag, x, y]) => {
    const px = Math.round((x * view.a + view.e) * ratio);
    const py = Math.round((y * view.a + view.f) * ratio);
    const at = (py * canvas.width + px) * 4;
    return [0, 1, 2].some(c => Math.abs(pixels[at + c] - want[c]) > 2);
  }).map(([tag]) => tag);
}"""
TO_SCREEN = """([x, y]) => {
  const box = document.querySelector('.react-flow').getBoundingClientRect();
  const viewport = document.querySelector('.react-flow__viewport');
  const view = new DOMMatrix(getComputedStyle(viewport).transform);
  return [box.left + x * view.a + view.e, box.top + y * view.a + view.f];
}"""


def build(served: Served) -> dict[str, tuple[float, float]]:
    """NODES nodes on one shared environment, in a grid of COLUMNS columns, a few of them joined:
    each node's centre (in flow units) by tag."""
    ws = served.workspace
    ws.shared_envs.new("tools")
    tags = [f"n{i:04d}" for i in range(NODES)]
    ids: list[str] = []
    for start in range(0, NODES, 300):
        made = ws.nodes.new_many("baseline", tags[start : start + 300], shared_env="tools")
        ids.extend(node.id for node in made)
    for i in range(1, 40):
        ws.edges.connect(ids[i - 1], ids[i], "baseline")
    positions = {ids[i]: ((i % COLUMNS) * 290.0, (i // COLUMNS) * 92.0) for i in range(NODES)}
    CanvasService(ws.context).place_many("baseline", positions)
    return {tags[i]: (x + 100, y + 32) for i, (x, y) in enumerate(positions.values())}


def test_a_huge_pipeline_zoomed_out_is_one_canvas_where_a_click_selects(
    page: Page, served: Served
) -> None:
    centres = build(served)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(served.link)
    overview = page.get_by_test_id("overview")
    # Zoomed to fit: every node is painted by the overview canvas, none is a DOM card.
    expect(overview).to_have_attribute("data-drawn", str(NODES), timeout=120_000)
    expect(page.get_by_test_id("node")).to_have_count(0)
    points = [[tag, x, y] for tag, (x, y) in centres.items()]
    assert page.evaluate(WRONG_BLOCKS, [points, "ready"]) == []
    summary = f"Overview of {NODES:,} nodes: {NODES:,} ready. Zoom in to see cards, or find a node"
    expect(overview).to_have_attribute("aria-label", re.compile("^" + summary))
    expect_accessible(page, "overview of a huge pipeline")

    # The other theme: the blocks take its colours (before, they kept the old theme's until a
    # reload: the colours were read before the new theme reached the page).
    page.get_by_title("Light or dark theme").click()
    page.wait_for_function(f"(a) => ({WRONG_BLOCKS})(a).length === 0", arg=[points, "ready"])

    # The pointer names the block under it; a click selects its node and opens it.
    settle(page)  # fitted: the point computed is where the block stays
    x, y = page.evaluate(TO_SCREEN, list(centres["n1234"]))
    page.mouse.move(x, y)
    expect(page.get_by_test_id("overview-label")).to_contain_text("n1234")
    page.mouse.click(x, y)
    expect(page.locator(".panel-header")).to_contain_text("n1234")

    # Zoomed in: cards again (only those in view), the clicked one selected.
    zoom_in = page.get_by_role("button", name="Zoom In")
    flow = page.locator(".react-flow")
    while flow.get_attribute("data-lod") != "full":
        zoom_in.click()
    expect(overview).to_have_count(0)
    expect(page.get_by_test_id("node").first).to_be_visible()

    # Zoomed out again, find (Ctrl+K) jumps to a node far away and selects it.
    page.get_by_role("button", name="Fit View").click()
    expect(overview).to_have_attribute("data-drawn", str(NODES))
    press_on_canvas(page, "Escape")
    press_on_canvas(page, "Control+k")
    field = page.get_by_test_id("find").get_by_role("combobox")
    field.fill("n2099")
    expect(page.get_by_test_id("find-option").first).to_have_attribute("data-tag", "n2099")
    press_in(field, "Enter")
    card = page.locator('[data-testid="node"][data-tag="n2099"]')
    expect(card).to_be_visible()
    expect(card).to_have_class(re.compile(r"\bselected\b"))
