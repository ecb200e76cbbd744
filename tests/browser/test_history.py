"""History in the app: the run preview before Run (what would run and why, nothing started
until the user says so), a pipeline's run history (who, when, what ran, outcome, duration, a
page at a time), a run's timeline (a bar per node, lanes for nodes that ran at once, live while
it runs, a click selects the node on the canvas), and the last run's duration on each card."""

from __future__ import annotations

import getpass
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, Response, Route, expect

from browser.canvas import (
    expect_state,
    menu_item,
    node,
    press_in,
    press_on_canvas,
    right_click,
)
from browser.conftest import Served
from browser.gates import gated
from nodepipe.services.runs.service import RunRequest
from support.waiting import wait_for

FAILS = "raise ValueError('no rows')\n"


def _runs(served: Served) -> list[dict[str, object]]:
    answer = httpx.get(f"{served.url}/api/pipelines/baseline/history", headers=served.headers)
    answer.raise_for_status()
    runs: list[dict[str, object]] = answer.json()["runs"]
    return runs


def _finished_runs(served: Served, count: int) -> None:
    """Wait until the pipeline has ``count`` runs, none of them still going."""

    def settled() -> bool:
        runs = _runs(served)
        return len(runs) == count and all(r["run"]["status"] != "running" for r in runs)  # type: ignore[index]

    wait_for(settled, f"{count} finished runs")


def test_run_shows_what_would_run_and_why_and_starts_nothing_until_confirmed(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    ws.nodes.new("baseline", "plot")
    ws.edges.connect("load", "plot", "baseline")
    page.goto(served.link)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")

    page.get_by_test_id("run-pipeline").click()
    dialog = page.get_by_test_id("dialog")
    planned = dialog.get_by_test_id("plan-run").locator("li")
    expect(planned).to_have_count(2)
    expect(planned.nth(0)).to_have_text("load: never ran")
    expect(planned.nth(1)).to_have_text("plot: never ran; parent 01 (load) will run")
    expect(dialog.get_by_test_id("dialog-confirm")).to_have_text("Run 2 nodes")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert _runs(served) == []  # the preview started nothing
    expect(node(page, "load")).to_have_attribute("data-state", "ready")

    page.get_by_test_id("run-pipeline").click()
    page.get_by_test_id("dialog-confirm").click()
    expect_state(page, "plot", "completed")
    assert len(_runs(served)) == 1

    # Up to date: the preview says why nothing would run.
    page.get_by_test_id("run-pipeline").click()
    expect(dialog.get_by_test_id("plan-preview")).to_contain_text("Nothing would run")
    dialog.get_by_text("Left out (2)").click()
    expect(dialog.get_by_test_id("plan-skipped")).to_contain_text("load: up to date")
    press_in(dialog, "Escape")
    expect(dialog).to_have_count(0)

    # Shift-click skips the preview once; the setting skips it from then on.
    force = page.get_by_role("button", name="Force re-run", exact=True)
    force.click(modifiers=["Shift"])
    expect(page.locator("[data-sonner-toast]", has_text="Forced re-run")).to_be_visible()
    expect(dialog).to_have_count(0)
    _finished_runs(served, 2)
    force.click()
    expect(dialog.get_by_test_id("plan-run")).to_contain_text("load: forced")
    dialog.get_by_text("Run at once next time").click()
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0)
    _finished_runs(served, 3)
    force.click()
    _finished_runs(served, 4)
    expect(dialog).to_have_count(0)


def test_run_this_node_from_its_menu_shows_what_would_run_and_why_first(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    ws.nodes.new("baseline", "plot")
    ws.edges.connect("load", "plot", "baseline")
    page.goto(served.link)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")

    right_click(page, "load")
    menu_item(page, "Run this node").click()
    dialog = page.get_by_test_id("dialog")
    expect(dialog.locator("h2")).to_have_text("Run of node load: what would run and why")
    expect(dialog.get_by_test_id("plan-run").locator("li")).to_have_text(["load: never ran"])
    expect(dialog.get_by_test_id("dialog-confirm")).to_have_text("Run 1 node")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert _runs(served) == []  # the preview started nothing

    right_click(page, "plot")
    menu_item(page, "Run up to here").click()
    expect(dialog.locator("h2")).to_have_text("Run up to plot: what would run and why")
    expect(dialog.get_by_test_id("plan-run").locator("li")).to_have_count(2)
    dialog.get_by_test_id("dialog-confirm").click()
    expect_state(page, "plot", "completed")
    assert len(_runs(served)) == 1

    # Shift-click runs at once, as on the toolbar
    right_click(page, "load")
    menu_item(page, "Force re-run").click(modifiers=["Shift"])
    _finished_runs(served, 2)
    expect(dialog).to_have_count(0)


def test_history_timeline_live_and_durations_on_cards(
    page: Page, served: Served, gate: Path
) -> None:
    ws = served.workspace
    for tag, code in (("left", gated(gate)), ("right", gated(gate)), ("join", FAILS)):
        ws.nodes.new("baseline", tag)
        (ws.nodes.path(tag) / "code" / "main.py").write_text(code)
    ws.edges.connect("left", "join", "baseline")
    ws.edges.connect("right", "join", "baseline")
    page.goto(served.link)
    expect(node(page, "left")).to_be_visible()
    expect(node(page, "left").get_by_test_id("node-duration")).to_have_count(0)  # never ran

    page.get_by_test_id("run-pipeline").click(modifiers=["Shift"])
    expect_state(page, "left", "running", 30_000)
    page.get_by_test_id("open-history").click()
    assert "view=runs" in page.url
    history = page.get_by_test_id("history")
    row = history.get_by_test_id("history-run")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("run-outcome")).to_have_text("running")
    expect(row.get_by_test_id("run-by")).to_have_text(getpass.getuser())
    timeline = history.get_by_test_id("timeline")
    bars = timeline.get_by_test_id("timeline-bar")
    expect(bars.and_(page.locator('[data-state="running"]'))).to_have_count(2, timeout=30_000)
    expect(timeline).to_have_attribute("data-lanes", "2")  # left and right ran at once

    # Live: the run ends while the page looks at it.
    gate.touch()
    expect(row.get_by_test_id("run-outcome")).to_have_text("failed", timeout=60_000)
    expect(bars).to_have_count(3)
    expect(timeline.locator('[data-state="failed"]')).to_have_count(1)
    expect(timeline.locator('[data-state="completed"]')).to_have_count(2)
    expect(row.get_by_test_id("run-what")).to_have_text("3 of 3 ran · 1 failed")
    expect(row.get_by_test_id("run-took")).to_have_text(re.compile(r"^\d+(\.\d)? s$"))
    left = timeline.locator('[data-testid="timeline-bar"]', has_text="left")
    title = left.get_attribute("title") or ""
    assert re.search(r"started \d\d:\d\d:\d\d\.\d{3}\nended \d\d:\d\d:\d\d\.\d{3}\ntook", title)
    expect(timeline).to_have_attribute("data-lanes", "2")

    # A click selects the node on the canvas.
    left.click()
    expect(history).to_have_count(0)
    assert "view=runs" not in page.url
    expect(node(page, "left")).to_have_class(re.compile(r"\bselected\b"))

    # The last run's duration on each card, as the server recorded it.
    last = httpx.get(f"{served.url}/api/pipelines/baseline/last-runs", headers=served.headers)
    seconds = {nr["node_id"]: nr["duration_seconds"] for nr in last.json()}
    for tag in ("left", "join"):
        shown = node(page, tag).get_by_test_id("node-duration")
        expect(shown).to_have_text(re.compile(r"^\d+\.\d s$"))
        number = float((shown.text_content() or "").removesuffix(" s"))
        assert abs(number - seconds[ws.nodes.get(tag).id]) <= 0.051

    # Back opens the history again, at the same run.
    page.go_back()
    expect(page.get_by_test_id("history")).to_be_visible()
    expect(page.get_by_test_id("timeline-bar")).to_have_count(3)


def test_history_by_address_pages_of_older_runs(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "quick")
    for _ in range(26):  # one more than a page
        ws.runs.run(RunRequest("baseline", force=True))
    page.goto(served.link)
    expect(node(page, "quick")).to_be_visible()
    page.evaluate("location.hash = '#pipeline=baseline&view=runs'")
    rows = page.get_by_test_id("history-run")
    expect(rows).to_have_count(25)
    expect(rows.first).to_have_attribute("aria-selected", "true")  # the newest run's timeline
    page.get_by_test_id("history-more").click()
    expect(rows).to_have_count(26)
    expect(page.get_by_test_id("history-more")).to_have_count(0)
    oldest = rows.last
    run_id = oldest.get_attribute("data-run-id")
    oldest.click()
    assert page.url.endswith(f"&run={run_id}")
    expect(page.get_by_test_id("timeline-bar")).to_have_count(1)
    page.get_by_test_id("history-close").click()
    expect(page.get_by_test_id("history")).to_have_count(0)
    page.get_by_test_id("open-history").click()
    expect(rows.first).to_be_visible()
    press_on_canvas(page, "Escape")  # back to the canvas
    expect(page.get_by_test_id("history")).to_have_count(0)
    expect(node(page, "quick")).to_be_visible()


def test_older_runs_asked_for_arrive_when_a_change_elsewhere_refetches_meanwhile(
    page: Page, served: Served
) -> None:
    """A change made elsewhere refetches everything on screen and cancels a page of older runs
    still on its way: the page the user asked for is asked for again, the click is not lost."""
    ws = served.workspace
    ws.nodes.new("baseline", "quick")
    for _ in range(26):  # one more than a page
        ws.runs.run(RunRequest("baseline", force=True))
    page.goto(served.link)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    page.evaluate("location.hash = '#pipeline=baseline&view=runs'")
    rows = page.get_by_test_id("history-run")
    expect(rows).to_have_count(25)

    held: list[Route] = []

    def hold_the_older_page(route: Route) -> None:
        if "before=" in route.request.url and not held:
            held.append(route)  # answered below, once the change elsewhere has been refetched
        else:
            route.continue_()

    page.route("**/api/pipelines/*/history*", hold_the_older_page)
    page.get_by_test_id("history-more").click()
    for _ in range(250):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the page of older runs was never asked for"

    def first_page(response: Response) -> bool:
        return "/history" in response.url and "before=" not in response.url

    with page.expect_response(first_page):  # the refetch of what is on screen
        notes = httpx.patch(  # a change elsewhere
            f"{served.url}/api/pipelines/baseline", json={"notes": "n"}, headers=served.headers
        )
        assert notes.is_success
    held[0].continue_()  # the cancelled request ends; its answer is not used
    expect(rows).to_have_count(26)
    expect(page.get_by_test_id("history-more")).to_have_count(0)


def test_a_runs_environment_is_shown_and_restored_from_the_history(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "quick")
    ran = ws.runs.run(RunRequest("baseline"))
    assert ran.run_id is not None
    code = ws.nodes.path("quick") / "code"
    then = (code / "pyproject.toml").read_text()
    (code / "pyproject.toml").write_text(then + "# edited after the run\n")
    page.goto(served.link)
    expect(node(page, "quick")).to_be_visible()
    page.evaluate("location.hash = '#pipeline=baseline&view=runs'")
    entry = page.get_by_test_id("run-environment")
    expect(entry).to_have_count(1)
    entry.locator("summary").click()
    summary = entry.get_by_test_id("run-environment-summary")
    expect(summary).to_contain_text(re.compile(r"Python\s*3\.\d+"))
    expect(summary).to_contain_text(ws.run_envs.show("quick", ran.run_id).interpreter)

    entry.get_by_role("button", name="Restore environment").click()
    expect(page.locator("[data-sonner-toast]", has_text="restore the environment")).to_be_visible()
    wait_for(lambda: (code / "pyproject.toml").read_text() == then, "the run's pyproject back")

    entry.get_by_role("button", name="Restore as new node…").click()
    dialog = page.get_by_test_id("dialog")
    dialog.get_by_role("textbox").fill("quick-then")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(page.locator("[data-sonner-toast]", has_text="restored quick-then")).to_be_visible()
    page.get_by_test_id("history-close").click()
    expect(node(page, "quick-then")).to_be_visible()
