"""Dragging a connection: one the server would refuse (a cycle, a node into itself, an edge
already there, a read-only child) shows it on the handle under the pointer during the drag, and
a drop there sends nothing but says why; the others connect as before."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request, expect

from browser.canvas import drag_edge, hold_edge, node, press_on_canvas, server_edges
from browser.conftest import ARTIFACTS, Served
from support.worlds import CHAIN, add_nodes


def refused_while_held(
    page: Page, parent: str, child: str, said: str, backwards: bool = False
) -> None:
    """Held over the handle it would connect to: that handle and the line show the refusal,
    and say why beside the pointer (nothing is connected yet)."""
    hold_edge(page, parent, child, backwards)
    at = (
        node(page, parent).locator(".handle-out")
        if backwards
        else node(page, child).locator(".handle-in")
    )
    expect(at).to_have_class(_has("connectingto"))
    expect(at).not_to_have_class(_has("valid"))
    expect(page.locator(".react-flow__connection.invalid")).to_have_count(1)
    expect(page.get_by_test_id("connection-refusal")).to_have_text(said)


def _has(name: str) -> re.Pattern[str]:
    """A class attribute holding the class ``name``."""
    return re.compile(rf"(^|\s){name}(\s|$)")


def test_a_connection_the_server_would_refuse_shows_it_while_dragged_and_sends_nothing(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", {**CHAIN, "frozen": [], "free": []})
    ws.nodes.lock("frozen")
    sent: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/edges"):
            sent.append(request.url)

    page.on("request", on_request)
    page.goto(served.link)
    expect(node(page, "free")).to_be_visible()
    before = server_edges(served)

    # a cycle: the handle is refused during the drag; the drop names the cycle, outlines it
    cycle = (
        "cannot connect plot → load: it would close the cycle plot → load → clean → plot; "
        "nothing was changed"
    )
    refused_while_held(page, "plot", "load", cycle)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("canvas").screenshot(path=ARTIFACTS / "connection-cycle-while-dragged.png")
    page.mouse.up()
    toast = page.locator("[data-sonner-toast][data-type='error']")
    expect(toast).to_have_text(cycle)
    expect(page.locator(".step.highlighted")).to_have_count(3)
    page.get_by_test_id("canvas").screenshot(path=ARTIFACTS / "connection-cycle-dropped.png")

    # the same dragged from the input handle, backwards
    refused_while_held(page, "plot", "load", cycle, backwards=True)
    page.mouse.up()

    # a node into itself, an edge already there, a child that is locked
    refused_while_held(
        page,
        "plot",
        "plot",
        "cannot connect plot → plot: it would close the cycle plot → plot; nothing was changed",
    )
    page.mouse.up()
    press_on_canvas(page, "Escape")  # dropped on its own card: that click opened its panel
    expect(page.get_by_test_id("node-panel")).to_have_count(0)
    page.locator(".react-flow__controls-fitview").click()  # the panel moved the view aside
    refused_while_held(page, "load", "clean", "load is already input 01 of clean")
    page.mouse.up()
    locked = (
        "cannot connect load → frozen: node 'frozen' is locked (read-only); "
        "unlock it: right-click the node → Unlock"
    )
    refused_while_held(page, "load", "frozen", locked)
    page.get_by_test_id("canvas").screenshot(path=ARTIFACTS / "connection-locked-while-dragged.png")
    page.mouse.up()
    expect(toast).to_have_text(locked)
    assert sent == []  # said by the page: nothing was asked of the server
    assert server_edges(served) == before

    # a connection nothing stands against lights as valid and is made
    hold_edge(page, "plot", "free")
    expect(node(page, "free").locator(".handle-in")).to_have_class(_has("valid"))
    expect(page.get_by_test_id("connection-refusal")).to_have_count(0)
    page.mouse.up()
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    assert server_edges(served) == before | {("plot", "free", "01")}
    drag_edge(page, "load", "free", backwards=True)
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    assert len(sent) == 2
