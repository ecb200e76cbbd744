"""Every state and flag at once, live, mid-run: the screenshot for the record."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from browser.canvas import expect_state, node, open_panel, settle
from browser.conftest import ARTIFACTS, Served
from browser.gates import gated
from nodepipe.services.runs.service import RunRequest

WORKING = "print('working', flush=True)\n"
FAILS = "def load():\n    raise ValueError('row 3 has no date')\n\n\nload()\n"


def build(served: Served, gate: Path) -> None:
    ws = served.workspace
    ws.pipelines.new("lib", project="climate")
    ws.nodes.new("lib", "shared")
    for tag in ("fetch", "train", "report", "broken", "stopped", "tuned", "frozen"):
        ws.nodes.new("baseline", tag)
    ws.node_copies.reference(["shared"], "baseline", "lib")
    for parent, child in [
        ("fetch", "train"),
        ("train", "report"),
        ("fetch", "broken"),
        ("fetch", "stopped"),
        ("shared", "tuned"),
        ("fetch", "frozen"),
    ]:
        ws.edges.connect(parent, child, "baseline")
    code = {tag: ws.nodes.path(tag) / "code" / "main.py" for tag in ("train", "stopped", "broken")}
    code["train"].write_text(gated(gate, WORKING))  # running until the screenshots are taken
    code["stopped"].write_text(gated(gate, WORKING))  # killed
    code["broken"].write_text(FAILS)
    ws.runs.run(RunRequest("lib"))
    ws.runs.run(RunRequest("baseline", only=["tuned"]))
    ws.nodes.set_params("tuned", ["learning_rate=0.01"])  # completed, now stale
    ws.nodes.lock("frozen")


def test_every_state_and_flag_shows_live_mid_run(page: Page, served: Served, gate: Path) -> None:
    build(served, gate)
    page.goto(served.link)
    expect_state(page, "tuned", "stale", 30_000)
    page.get_by_test_id("auto-layout").click()
    only = ["fetch", "train", "report", "broken", "stopped"]
    started = httpx.post(
        f"{served.url}/api/pipelines/baseline/runs", json={"only": only}, headers=served.headers
    )
    assert started.status_code == 202, started.text
    expect_state(page, "stopped", "running", 30_000)
    httpx.post(
        f"{served.url}/api/pipelines/baseline/kill",
        json={"nodes": ["stopped"]},
        headers=served.headers,
    )
    expect_state(page, "fetch", "completed")
    expect_state(page, "train", "running")
    expect_state(page, "report", "queued")
    expect_state(page, "broken", "failed")
    expect_state(page, "stopped", "cancelled")
    expect_state(page, "frozen", "ready")
    expect(node(page, "frozen").locator('[data-look="locked"]')).to_be_visible()
    expect(node(page, "shared").locator('[data-look="referenced"]')).to_be_visible()
    page.locator(".react-flow__pane").click(position={"x": 30, "y": 400})
    expect(page.locator(".react-flow__node.selected")).to_have_count(0)
    settle(page)
    page.get_by_test_id("canvas").screenshot(path=ARTIFACTS / "canvas-mid-run-all-states.png")
    panel = open_panel(page, "broken")
    # the exception, not only the exit code, without opening the Log tab
    said = "exited with code 1: ValueError: row 3 has no date"
    expect(panel.get_by_test_id("reasons")).to_contain_text(said)
    expect(node(page, "broken")).to_have_attribute("title", re.compile(said))
    page.screenshot(path=ARTIFACTS / "app-mid-run-failed-node.png")
