"""A collapsed group whose frame also encloses a node that is not a member: its card is not
hidden under that node, the edges into and out of the group are drawn to it, and it expands
again."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from browser.canvas import centre, node, press_on_canvas, right_click, select, server_graph
from browser.conftest import Served


def test_a_collapsed_group_never_hides_under_another_node(page: Page, served: Served) -> None:
    ws = served.workspace
    ids = {tag: ws.nodes.new("baseline", tag).id for tag in ("load", "outsider", "clean", "plot")}
    ws.edges.connect("clean", "plot", "baseline")
    ws.edges.connect("outsider", "load", "baseline")
    # load and clean are the group; outsider sits where the collapsed card would go (top left).
    spots = {"outsider": (0, 0), "load": (0, 120), "clean": (300, 0), "plot": (700, 0)}
    placed = httpx.put(
        f"{served.url}/api/pipelines/baseline/positions",
        json={"positions": [{"node_id": ids[t], "x": x, "y": y} for t, (x, y) in spots.items()]},
        headers=served.headers,
    )
    assert placed.status_code == 200, placed.text
    ws.groups.new("baseline", "prep", ["load", "clean"])
    ws.groups.collapse("baseline", "prep")

    page.goto(served.link)
    card = page.get_by_test_id("group-collapsed")
    expect(card).to_contain_text("prep")
    expect(node(page, "outsider")).to_be_visible()
    a, b = card.bounding_box(), node(page, "outsider").bounding_box()
    assert a is not None and b is not None
    overlap_x = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    overlap_y = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    assert overlap_x <= 0 or overlap_y <= 0, (a, b)
    # What is on top at the card's centre is the card itself.
    x, y = centre(card)
    on_top = page.evaluate(
        "([x, y]) => !!document.elementFromPoint(x, y)?.closest('[data-testid=group-collapsed]')",
        [x, y],
    )
    assert on_top
    # clean -> plot leaves the group, outsider -> load enters it: both end at the card.
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(2)
    drawn = edges.locator("path.react-flow__edge-path")
    expect(drawn.first).to_have_attribute("d", re.compile(r"^M"))
    card.get_by_role("button", name="Expand the group").click()
    expect(node(page, "load")).to_be_visible()
    expect(node(page, "clean")).to_be_visible()


def test_remove_from_group_takes_each_node_out_of_its_own_group_and_a_move_is_said(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    for tag in ("load", "clean", "plot", "extra"):
        ws.nodes.new("baseline", tag)
    ws.groups.new("baseline", "prep", ["load"])
    ws.groups.new("baseline", "show", ["plot", "extra"])
    page.goto(served.link)
    expect(node(page, "extra")).to_be_visible()
    # A selection across two groups and a node in none: each group lets go of its own.
    select(page, "load")
    select(page, "plot", add=True)
    select(page, "clean", add=True)
    right_click(page, "plot").get_by_role("menuitem", name="Remove from group").click()
    undo = page.get_by_test_id("undo")
    expect(undo).to_have_attribute("title", "Undo remove 2 nodes from prep, show (Ctrl+Z)")
    assert group_of(served) == {"load": None, "clean": None, "plot": None, "extra": "show"}
    undo.click()
    said = page.locator("[data-sonner-toast]", has_text="Undid remove 2 nodes from prep, show")
    expect(said.first).to_be_visible()
    assert group_of(served) == {"load": "prep", "clean": None, "plot": "show", "extra": "show"}

    # Adding a node of another group moves it, and says so.
    press_on_canvas(page, "Escape")
    right_click(page, "extra").get_by_role("menuitem", name="Add to group…").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator("select").select_option(label="prep")
    page.get_by_test_id("dialog-confirm").click()
    expect(
        page.locator("[data-sonner-toast]", has_text="Moved extra from show to prep")
    ).to_be_visible()
    assert group_of(served) == {"load": "prep", "clean": None, "plot": "show", "extra": "prep"}
    # Undo puts it back where it was, not in no group.
    expect(undo).to_have_attribute("title", "Undo add extra to prep (Ctrl+Z)")
    undo.click()
    expect(page.locator("[data-sonner-toast]", has_text="Undid add extra to prep")).to_be_visible()
    assert group_of(served) == {"load": "prep", "clean": None, "plot": "show", "extra": "show"}


def test_a_new_group_says_the_nodes_it_took_from_another_and_undo_puts_them_back(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    for tag in ("load", "clean", "plot"):
        ws.nodes.new("baseline", tag)
    ws.groups.new("baseline", "show", ["plot"])
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()
    select(page, "clean")
    select(page, "plot", add=True)
    right_click(page, "plot").get_by_role("menuitem", name="Group…", exact=True).click()
    dialog = page.get_by_test_id("dialog")
    dialog.get_by_label("Group name").fill("prep")
    page.get_by_test_id("dialog-confirm").click()
    expect(
        page.locator("[data-sonner-toast]", has_text="Moved plot from show to prep")
    ).to_be_visible()
    assert group_of(served) == {"load": None, "clean": "prep", "plot": "prep"}
    undo = page.get_by_test_id("undo")
    expect(undo).to_have_attribute("title", "Undo group prep (Ctrl+Z)")
    undo.click()
    expect(page.locator("[data-sonner-toast]", has_text="Undid group prep")).to_be_visible()
    assert group_of(served) == {"load": None, "clean": None, "plot": "show"}
    assert [g["name"] for g in server_graph(served)["groups"]] == ["show"]


def group_of(served: Served) -> dict[str, str | None]:
    """Each node's group as the server holds it, by name (None: in no group)."""
    shown = server_graph(served)
    names = {g["id"]: g["name"] for g in shown["groups"]}
    return {n["tag"]: names.get(n["group_id"]) for n in shown["nodes"]}
