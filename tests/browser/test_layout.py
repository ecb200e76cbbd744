"""Layout at 1280x800 (issue 16, finding 5): the side panel never covers the node just clicked,
a new node appears in view, referenced nodes land in free space and the dialog says which
upstream nodes come with them, and two nodes with one tag are told apart."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import node, open_panel, right_click, select
from browser.conftest import Served

# Whether a card lies wholly inside the canvas and, when the side panel is open, clear of it.
IN_SIGHT = """tag => {
  const card = document.querySelector(`[data-testid=node][data-tag="${tag}"]`);
  if (!card) return false;
  const box = card.getBoundingClientRect();
  const pane = document.querySelector('.react-flow').getBoundingClientRect();
  const panel = document.querySelector('[data-testid=node-panel]')?.getBoundingClientRect();
  const inside = box.left >= pane.left && box.right <= pane.right && box.top >= pane.top
    && box.bottom <= pane.bottom;
  return inside && (!panel || box.right <= panel.left);
}"""
# Pairs of cards whose boxes overlap.
OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('[data-testid=node]')]
    .map(card => [card.dataset.tag, card.getBoundingClientRect()]);
  const result = [];
  for (const [i, [a, p]] of boxes.entries()) {
    for (const [b, q] of boxes.slice(i + 1)) {
      if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) {
        result.push([a, b]);
      }
    }
  }
  return result;
}"""


def place(served: Served, pipeline: str, spots: dict[str, tuple[int, int]]) -> None:
    ws = served.workspace
    positions = [
        {"node_id": ws.nodes.get(tag, pipeline).id, "x": x, "y": y} for tag, (x, y) in spots.items()
    ]
    answer = httpx.put(
        f"{served.url}/api/pipelines/{pipeline}/positions",
        json={"positions": positions},
        headers=served.headers,
    )
    assert answer.status_code == 200, answer.text


def open_small(page: Page, served: Served, pipeline: str = "baseline") -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{served.link}#pipeline={pipeline}")


def test_the_side_panel_never_covers_the_node_just_clicked(page: Page, served: Served) -> None:
    for tag in ("left", "middle", "right"):
        served.workspace.nodes.new("baseline", tag)
    place(served, "baseline", {"left": (0, 0), "middle": (500, 0), "right": (1000, 0)})
    open_small(page, served)
    expect(node(page, "right")).to_be_visible()
    select(page, "right")
    expect(page.get_by_test_id("node-panel")).to_be_visible()
    # The panel takes the right of the window, where the card was: the view pans to keep it.
    page.wait_for_function(IN_SIGHT, arg="right")


def test_a_new_node_appears_in_view_where_no_card_is(page: Page, served: Served) -> None:
    row = {f"r{i}": (i * 280, 0) for i in range(10)}
    served.workspace.nodes.new_many("baseline", list(row))
    place(served, "baseline", row)
    open_small(page, served)
    expect(node(page, "r0")).to_be_visible()
    page.get_by_role("button", name="Zoom In").click()  # the row now runs past both sides
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator("input").fill("fresh")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(node(page, "fresh")).to_be_attached(timeout=30_000)
    page.wait_for_function(IN_SIGHT, arg="fresh")
    assert page.evaluate(OVERLAPS) == []


def test_a_reference_says_what_comes_with_it_and_lands_in_free_space(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    for tag in ("load", "clean", "plot"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    ws.edges.connect("clean", "plot", "baseline")
    ws.pipelines.new("other", project="climate")
    for tag in ("a", "b", "c"):
        ws.nodes.new("other", tag)
    # Where the app's layout puts three cards: columns 290 apart.
    place(served, "other", {"a": (20, 20), "b": (310, 20), "c": (600, 20)})
    open_small(page, served)
    right_click(page, "plot").get_by_role("menuitem", name="Reference into…").click()
    dialog = page.get_by_test_id("dialog")
    upstream = dialog.get_by_test_id("reference-upstream")
    expect(upstream.locator("li")).to_have_text(["load", "clean"])
    expect_accessible(page, "Reference dialog", '[data-testid="dialog"]')
    dialog.locator("select").select_option(label="other")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(page.locator("[data-sonner-toast]", has_text="Now shown there: 3")).to_be_visible()

    page.locator('[data-testid="pipeline-item"][data-tag="other"]').click()
    expect(page.locator("[data-testid=node]")).to_have_count(6)
    assert page.evaluate(OVERLAPS) == []


def test_two_nodes_with_one_tag_are_told_apart(page: Page, served: Served) -> None:
    ws = served.workspace
    first = ws.nodes.new("baseline", "plot")
    second = ws.nodes.new("baseline", "plot", allow_duplicate_tag=True)
    ws.nodes.new("baseline", "alone")
    open_small(page, served)
    cards = node(page, "plot")
    expect(cards).to_have_count(2)
    twins = cards.get_by_test_id("twin")
    expect(twins).to_have_count(2)
    texts = sorted(twins.all_inner_texts())
    assert texts == sorted([f" · id {first.id}", f" · id {second.id}"]), texts
    expect(node(page, "alone").get_by_test_id("twin")).to_have_count(0)
    expect_accessible(page, "cards with one tag", ".react-flow")


PIPELINES_OBSERVERS = """() => window.__TANSTACK_QUERY_CLIENT__.getQueryCache()
    .find({ queryKey: ["pipelines"], exact: true }).getObserversCount()"""


def test_twin_cards_share_one_watch_of_the_pipelines_list(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.pipelines.new("pair", project="climate")
    for index in range(6):
        ws.nodes.new("baseline", "plot", allow_duplicate_tag=index > 0)
    for _ in range(2):
        ws.nodes.new("pair", "plot", allow_duplicate_tag=True)
    open_small(page, served, "pair")
    expect(node(page, "plot").get_by_test_id("twin")).to_have_count(2)
    with_two = page.evaluate(PIPELINES_OBSERVERS)

    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    twins = node(page, "plot").get_by_test_id("twin")
    expect(twins).to_have_count(6)  # each card names itself (id …): six twin labels on screen
    assert page.evaluate(PIPELINES_OBSERVERS) == with_two  # not one more per twin card


# Toolbar controls that stick out of the canvas (under the side panel or past the window).
TOOLS_OUT_OF_SIGHT = """() => {
  const pane = document.querySelector('.react-flow').getBoundingClientRect();
  return [...document.querySelectorAll('[role=toolbar] button')]
    .filter(button => {
      const box = button.getBoundingClientRect();
      return box.left < pane.left || box.right > pane.right || box.bottom > pane.bottom;
    })
    .map(button => button.getAttribute('aria-label') || button.title);
}"""


# The legend's overlap with the zoom controls or the minimap, when they are shown.
CORNERS_COVERED = """() => {
  const legend = document.querySelector('.legend').getBoundingClientRect();
  return ['.react-flow__controls', '.react-flow__minimap']
    .map(selector => document.querySelector(selector))
    .filter(corner => corner && corner.offsetParent !== null)
    .filter(corner => {
      const box = corner.getBoundingClientRect();
      return box.left < legend.right && legend.left < box.right && box.top < legend.bottom
        && legend.top < box.bottom;
    })
    .map(corner => corner.className);
}"""


def test_the_toolbar_stays_whole_beside_a_wide_side_panel(page: Page, served: Served) -> None:
    served.workspace.nodes.new("baseline", "train")
    open_small(page, served)
    expect(node(page, "train")).to_be_visible()
    assert page.evaluate(TOOLS_OUT_OF_SIGHT) == []
    panel = open_panel(page, "train", "Code")  # the widest panel: the canvas keeps ~480 px
    expect(panel.locator(".cm-editor")).to_be_visible()
    assert page.evaluate(TOOLS_OUT_OF_SIGHT) == []
    assert page.evaluate(CORNERS_COVERED) == []
    page.get_by_role("button", name="Run history").click()  # a real click: nothing covers it
    expect(page.get_by_text("Runs of")).to_be_visible()
