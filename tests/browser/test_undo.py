"""Undo and redo of graph edits made in the app (Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y, the toolbar's
buttons): create, connect, disconnect, move, delete without outputs, group and ungroup. What the
server holds is checked after each step, not only the canvas. An edit made meanwhile elsewhere
makes undo refuse with a toast and change nothing; deleting outputs says it cannot be undone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.canvas import (
    centre,
    create_node,
    drag_edge,
    menu_item,
    node,
    press_in,
    press_on_canvas,
    right_click,
    select,
    settle,
)
from browser.canvas import server_edges as edges
from browser.canvas import server_graph as graph
from browser.conftest import Served
from nodepipe.domain.states import NodeState


def tags(served: Served) -> set[str]:
    return {n["tag"] for n in graph(served)["nodes"]}


def place(served: Served, tag: str) -> tuple[float, float]:
    found = next(n for n in graph(served)["nodes"] if n["tag"] == tag)
    return found["x"], found["y"]


def groups(served: Served) -> list[str]:
    return [g["name"] for g in graph(served)["groups"]]


def toast(page: Page, text: str) -> None:
    expect(page.locator("[data-sonner-toast]", has_text=text).first).to_be_visible()


def press(page: Page, keys: str, toast_text: str) -> None:
    """A shortcut on the canvas, then the toast that says it was done (the change has landed),
    closed (toasts stack: its own close button, not the first one's)."""
    press_on_canvas(page, keys)
    toast(page, toast_text)
    said = page.locator("[data-sonner-toast]", has_text=toast_text)
    said.first.locator("[data-close-button]").click()
    expect(said).to_have_count(0)


def test_graph_edits_are_undone_and_redone(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.shared_envs.new("tools")
    for tag in ("load", "clean", "plot"):
        ws.nodes.new("baseline", tag, shared_env="tools")
    ws.edges.connect("load", "clean", "baseline")
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()
    undo = page.get_by_test_id("undo")
    expect(undo).to_be_disabled()

    # Create: undo deletes it, redo makes it again (Ctrl+Y as well as Ctrl+Shift+Z).
    create_node(page, "extra")
    expect(undo).to_have_attribute("title", "Undo create extra (Ctrl+Z)")
    press(page, "Control+z", "Undid create extra")
    expect(node(page, "extra")).to_have_count(0)
    assert "extra" not in tags(served)
    redo = page.get_by_test_id("redo")
    expect(redo).to_have_attribute("title", "Redo create extra (Ctrl+Shift+Z)")
    press(page, "Control+y", "Redid create extra")
    expect(node(page, "extra")).to_be_visible()
    assert "extra" in tags(served)

    # Connect and disconnect, with their slots.
    drag_edge(page, "clean", "plot")
    expect(undo).to_have_attribute("title", "Undo connect clean → plot (Ctrl+Z)")
    assert ("clean", "plot", "01") in edges(served)
    undo.click()
    toast(page, "Undid connect clean → plot")
    expect(undo).to_have_attribute("title", "Undo create extra (Ctrl+Z)")
    assert ("clean", "plot", "01") not in edges(served)
    press(page, "Control+Shift+z", "Redid connect clean → plot")
    assert ("clean", "plot", "01") in edges(served)
    clean_plot = page.get_by_test_id(
        f"rf__edge-{ws.nodes.get('clean').id}->{ws.nodes.get('plot').id}"
    )
    clean_plot.click(button="right")
    menu_item(page, "Disconnect").click()
    expect(undo).to_have_attribute("title", "Undo disconnect clean → plot (Ctrl+Z)")
    assert ("clean", "plot", "01") not in edges(served)
    press(page, "Control+z", "Undid disconnect clean → plot")
    assert ("clean", "plot", "01") in edges(served)

    # Move: the node goes back where it was, on the server.
    before = place(served, "plot")
    settle(page)
    x, y = centre(node(page, "plot").locator(".step-tag"))
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 150, steps=8)
    page.mouse.up()
    expect(undo).to_have_attribute("title", "Undo move plot (Ctrl+Z)")
    assert place(served, "plot") != before
    press(page, "Control+z", "Undid move plot")
    assert place(served, "plot") == before

    # Delete without outputs: the confirmation says what undo brings back, and it does.
    code = ws.nodes.path("extra", "baseline") / "code"
    (code / "main.py").write_text("print('extra work')\n")
    (code / "helpers").mkdir()
    (code / "helpers" / "scale.py").write_text("FACTOR = 3\n")
    ws.nodes.set_params("extra", replace_with="lr: 0.1  # learning rate\n", pipeline="baseline")
    drag_edge(page, "clean", "extra")
    expect(undo).to_have_attribute("title", "Undo connect clean → extra (Ctrl+Z)")
    select(page, "extra")
    press_on_canvas(page, "Delete")
    dialog = page.get_by_test_id("dialog")
    expect(dialog.get_by_test_id("undo-note")).to_contain_text("Undo (Ctrl+Z) makes them again")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(node(page, "extra")).to_have_count(0)
    expect(undo).to_have_attribute("title", "Undo delete extra (Ctrl+Z)")
    assert "extra" not in tags(served)
    press_on_canvas(page, "Control+z")
    toast(page, "with the same tag, notes, parameters, code files, place and edges")
    expect(node(page, "extra")).to_be_visible()
    assert ("clean", "extra", "01") in edges(served)
    again = ws.nodes.path("extra", "baseline") / "code"
    assert (again / "main.py").read_text() == "print('extra work')\n"
    assert (again / "helpers" / "scale.py").read_text() == "FACTOR = 3\n"
    assert (again / "params.yaml").read_text() == "lr: 0.1  # learning rate\n"

    # Group and ungroup.
    select(page, "load")
    select(page, "clean", add=True)
    right_click(page, "clean").get_by_role("menuitem", name="Group…").click()
    page.get_by_test_id("dialog").locator("input").fill("prep")
    page.get_by_test_id("dialog-confirm").click()
    expect(page.get_by_test_id("group-frame")).to_be_visible()
    assert groups(served) == ["prep"]
    press(page, "Control+z", "Undid group prep")
    expect(page.get_by_test_id("group-frame")).to_have_count(0)
    assert groups(served) == []
    press(page, "Control+Shift+z", "Redid group prep")
    assert groups(served) == ["prep"]
    press_on_canvas(page, "Escape")
    right_click(page, "load").get_by_role("menuitem", name="Remove from group").click()
    expect(undo).to_have_attribute("title", "Undo remove load from prep (Ctrl+Z)")
    assert members(served, "prep") == {"clean"}
    press(page, "Control+z", "Undid remove load from prep")
    assert members(served, "prep") == {"load", "clean"}


def members(served: Served, group: str) -> set[str]:
    shown = graph(served)
    wanted = next(g["id"] for g in shown["groups"] if g["name"] == group)
    return {n["tag"] for n in shown["nodes"] if n["group_id"] == wanted}


def test_undo_refuses_after_a_conflicting_edit_elsewhere(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.shared_envs.new("tools")
    for tag in ("load", "clean"):
        ws.nodes.new("baseline", tag, shared_env="tools")
    ws.pipelines.new("other", project="climate")
    page.goto(served.link)
    expect(node(page, "clean")).to_be_visible()
    drag_edge(page, "load", "clean")
    undo = page.get_by_test_id("undo")
    expect(undo).to_have_attribute("title", "Undo connect load → clean (Ctrl+Z)")

    # Elsewhere (the CLI, Python): the edge is cut and made again on another slot.
    ws.edges.disconnect("load", "clean", "baseline")
    ws.edges.connect("load", "clean", "baseline", slot="raw")
    undo.click()
    toast(page, "Cannot undo connect load → clean: load → clean is now on input raw")
    toast(page, "Nothing was changed")
    assert edges(served) == {("load", "clean", "raw")}
    expect(undo).to_be_disabled()

    # A node that ran since (it has outputs now) is not deleted by undoing its creation.
    create_node(page, "extra")
    folder = ws.nodes.path("extra", "baseline")
    (folder / "data" / "result.txt").write_text("precious\n")
    ws.nodes.mark("extra", NodeState.COMPLETED, "baseline")
    undo.click()
    toast(page, "Cannot undo create extra: extra has outputs now")
    assert "extra" in tags(served)
    assert (folder / "data" / "result.txt").read_text() == "precious\n"

    # Deleting outputs says before it happens that it cannot be undone.
    dialog = page.get_by_test_id("dialog")
    right_click(page, "extra").get_by_role("menuitem", name="Delete outputs…").click()
    expect(dialog).to_contain_text("This cannot be undone")
    press_in(dialog, "Escape")
    expect(dialog).to_have_count(0)
    right_click(page, "extra").get_by_role("menuitem", name="Delete…").click()
    expect(page.get_by_test_id("undo-note")).to_contain_text(
        "This cannot be undone: the outputs of extra are deleted for good"
    )
    press_in(dialog, "Escape")
    expect(dialog).to_have_count(0)

    # Another pipeline has its own (empty) undo list.
    drag_edge(page, "clean", "extra")
    expect(undo).to_be_enabled()
    page.get_by_test_id("pipeline-item").filter(has_text="other").click()
    expect(page.locator(".toolbar-title b")).to_have_text("other")
    expect(undo).to_be_disabled()
