"""The main path of the graph editor, in a real browser against a real server."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from browser.canvas import create_node, drag_edge, expect_state, open_panel, press_on_canvas
from browser.conftest import ARTIFACTS, Served
from browser.gates import gated

WARMS_UP = 'print("warming up", flush=True)\n'
WRITES = """import nodepipe_node as node

(node.data_dir() / "numbers.txt").write_text("1 2 3\\n")
print("wrote numbers", flush=True)
"""


def canvas_shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("canvas").screenshot(path=ARTIFACTS / name)


def test_create_connect_run_watch_live_read_the_log_and_refuse_a_cycle(
    page: Page, served: Served, gate: Path
) -> None:
    page.goto(served.link)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    page.evaluate("window.__sameDocument = true")
    create_node(page, "load")
    create_node(page, "plot")

    drag_edge(page, "load", "plot")
    expect(page.locator(".react-flow__edge-text", has_text="01")).to_be_visible()
    edges = served.workspace.pipelines.show("baseline").edges
    assert [edge.slot for edge in edges] == ["01"]

    load = served.workspace.nodes.path("load")
    (load / "code" / "main.py").write_text(gated(gate, WARMS_UP, WRITES))
    page.get_by_test_id("run-pipeline").click(modifiers=["Shift"])
    expect_state(page, "load", "running", 30_000)
    expect_state(page, "plot", "queued")
    canvas_shot(page, "canvas-mid-run.png")
    gate.touch()
    expect_state(page, "load", "completed")
    expect_state(page, "plot", "completed")
    assert page.evaluate("window.__sameDocument") is True  # no reload: states came live

    panel = open_panel(page, "plot", "Log")
    expect(panel.get_by_test_id("log-text")).to_contain_text("input 01 from load")
    open_panel(page, "load", "Log")
    expect(panel.get_by_test_id("log-text")).to_contain_text("wrote numbers")

    press_on_canvas(page, "Escape")  # close the panel: the whole canvas is in view again
    expect(page.get_by_test_id("node-panel")).to_have_count(0)
    drag_edge(page, "plot", "load")
    toast = page.locator("[data-sonner-toast]", has_text="cycle")
    expect(toast).to_contain_text("plot → load → plot")
    expect(page.locator(".step.highlighted")).to_have_count(2)
    canvas_shot(page, "canvas-cycle-refused.png")
    assert len(served.workspace.pipelines.show("baseline").edges) == 1
    press_on_canvas(page, "Escape")
    canvas_shot(page, "canvas.png")


def test_the_live_log_follows_a_running_node(page: Page, served: Served, gate: Path) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "slow")
    (ws.nodes.path("slow") / "code" / "main.py").write_text(gated(gate, WARMS_UP, WRITES))
    page.goto(served.link)
    panel = open_panel(page, "slow", "Log")
    expect(panel.get_by_test_id("log")).to_contain_text("never ran")
    page.get_by_test_id("run-pipeline").click(modifiers=["Shift"])
    expect(panel.get_by_test_id("log-status")).to_have_text("● live", timeout=30_000)
    expect(panel.get_by_test_id("log-text")).to_contain_text("warming up")
    gate.touch()
    expect(panel.get_by_test_id("log-text")).to_contain_text("wrote numbers", timeout=30_000)
    expect_state(page, "slow", "completed")
