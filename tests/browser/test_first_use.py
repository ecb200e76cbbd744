"""A new user's first steps in the app, as the README tells them: every tab of a node's panel
within reach of the pointer, a run preview that does not say the run started, a read-only node
saying why and what lifts it in every tab that refuses edits, a folder too large to add
refused with the app's own way to add it anyway (never a command-line option), a live log
that says what the node does now, and an undone paste that leaves nothing of it behind."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from browser.canvas import (
    centre,
    expect_state,
    menu_item,
    node,
    open_panel,
    press_on_canvas,
    right_click,
    select,
    server_edges,
)
from browser.conftest import Served
from browser.gates import gated
from support.worlds import CHAIN, add_nodes

TABS = ("Overview", "Parameters", "Environment", "Runs", "Log", "Outputs", "Code")


def test_every_tab_of_the_node_panel_is_on_screen_and_opens_with_a_click(
    page: Page, served: Served
) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    page.goto(served.link)
    panel = open_panel(page, "clean")
    viewport = page.viewport_size
    assert viewport is not None
    for label in TABS:
        tab = panel.get_by_role("tab", name=label)
        box = tab.bounding_box()
        assert box is not None, f"no tab {label}"
        # all of it inside the window: a pointer reaches it without scrolling anything
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (label, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (label, box)
        page.mouse.click(*centre(tab))  # where a person clicks, not scrolled into view first
        expect(tab).to_have_attribute("aria-selected", "true")


def test_the_run_preview_does_not_say_the_run_started(page: Page, served: Served) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    page.goto(served.link)
    page.get_by_test_id("run-pipeline").click()
    dialog = page.get_by_test_id("dialog")
    expect(dialog.get_by_test_id("plan-run").locator("li")).to_have_count(3)
    # nothing has started while the planner's answer is shown
    expect(dialog.locator("h2")).to_have_text("Run of the pipeline: what would run and why")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert served.workspace.runs.history("baseline") == []


def test_a_read_only_nodes_parameters_say_why_and_the_menu_item_that_lifts_it(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.nodes.lock("plot")
    ws.pipelines.new("scratch", project="climate")
    ws.node_copies.reference(["clean"], into="scratch", pipeline="baseline")
    page.goto(served.link)
    panel = open_panel(page, "plot", "Parameters")
    expect(panel.get_by_test_id("params-editor")).to_be_disabled()
    expect(panel.get_by_test_id("params-read-only")).to_have_text(
        "This node is locked (read-only); unlock it: right-click the node → Unlock"
    )
    page.goto(f"{served.url}/#pipeline=scratch")
    panel = open_panel(page, "clean", "Parameters")
    expect(panel.get_by_test_id("params-editor")).to_be_disabled()
    expect(panel.get_by_test_id("params-read-only")).to_have_text(
        "This node is a reference here (read-only); "
        "detach it: right-click the node → Detach (private copy)…"
    )
    # the Code tab says the same, with no stray full stop after the menu item's ellipsis
    panel.get_by_role("tab", name="Code").click()
    expect(panel.get_by_test_id("code-read-only")).to_have_text(
        "This node is a reference here (read-only); "
        "detach it: right-click the node → Detach (private copy)…"
    )


def test_the_nodes_of_a_locked_pipeline_say_so_before_an_edit_is_typed(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.pipelines.lock("baseline")
    page.goto(served.link)
    said = (
        "This pipeline is locked (read-only); "
        'unlock it: right-click pipeline "baseline" in the sidebar → Unlock'
    )
    panel = open_panel(page, "clean", "Parameters")
    expect(panel.get_by_test_id("params-read-only")).to_have_text(said)
    expect(panel.get_by_test_id("params-editor")).to_be_disabled()
    panel.get_by_role("tab", name="Code").click()
    expect(panel.get_by_test_id("code-read-only")).to_have_text(said)

    # the menu item it names lifts it, and the tabs follow at once
    page.get_by_test_id("pipeline-item").filter(has_text="baseline").click(button="right")
    menu_item(page, "Unlock").click()
    expect(panel.get_by_test_id("code-read-only")).to_have_count(0)
    panel.get_by_role("tab", name="Parameters").click()
    expect(panel.get_by_test_id("params-editor")).to_be_enabled()
    expect(panel.get_by_test_id("params-read-only")).to_have_count(0)
    assert not ws.pipelines.get("baseline").locked


def _huge_folder(root: Path) -> Path:
    """A project of more than 20,000 files: refused as external code unless meant."""
    for index in range(20_001):
        part = root / f"part{index // 1000}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"m{index}.py").touch()
    (root / "pyproject.toml").write_text('[project]\nname = "huge"\nversion = "1"\n')
    return root


def test_a_huge_folder_is_refused_with_the_checkbox_that_adds_it_on_purpose(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    huge = _huge_folder(tmp_path / "huge")
    page.goto(served.link)
    tab = open_panel(page, "clean", "Environment").get_by_test_id("environment")
    errors = page.locator("[data-sonner-toast][data-type='error']")

    tab.get_by_label("what to add").select_option(label="local project")
    tab.get_by_test_id("add-packages").fill(str(huge))
    tab.get_by_role("button", name="Add (lock and sync)").click()
    refused = errors.filter(has_text="holds more than 20,000 files")
    expect(refused).to_contain_text(
        f"or, if {huge} is meant: select the node → Environment → local project, "
        'tick "Large folder, on purpose" → Add (lock and sync)'
    )
    for cli in ("--large", "command line", "nodepipe "):
        expect(refused).not_to_contain_text(cli)
    expect(tab.get_by_label("Large folder, on purpose")).to_be_visible()  # what it names is there
    refused.get_by_role("button", name="Close toast").click()
    expect(refused).to_have_count(0)

    dialog = page.get_by_role("dialog", name="Add code path")
    tab.get_by_role("button", name="Add code path…").click()
    dialog.locator('[name="dialog-path"]').fill(str(huge))
    dialog.get_by_test_id("dialog-confirm").click()
    refused = dialog.get_by_test_id("dialog-path-problem")  # beside the folder, the dialog open
    expect(refused).to_contain_text(
        f'or, if {huge} is meant: select the node → Environment → Add code path…, tick "Large '
        'folder, on purpose"'
    )
    for cli in ("--large", "command line", "nodepipe "):
        expect(refused).not_to_contain_text(cli)
    assert list(ws.envs.show("clean").code_paths) == []

    # ticked, the same folder is added
    expect(dialog.locator('[name="dialog-path"]')).to_have_value(str(huge))
    dialog.get_by_role("checkbox", name="Large folder, on purpose").check()
    dialog.get_by_test_id("dialog-confirm").click()
    expect(tab.get_by_test_id("code-paths").get_by_test_id("code-path")).to_have_text([str(huge)])
    assert list(ws.envs.show("clean").code_paths) == [str(huge)]


def test_the_log_of_a_node_that_waited_in_the_queue_no_longer_says_queued_once_it_runs(
    page: Page, served: Served, gate: Path, tmp_path: Path
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", {"load": [], "clean": ["load"]})
    second = tmp_path / "second-gate"
    (ws.nodes.path("load") / "code" / "main.py").write_text(gated(gate))
    (ws.nodes.path("clean") / "code" / "main.py").write_text(
        gated(second, 'print("cleaning", flush=True)\n')
    )
    try:
        page.goto(served.link)
        panel = open_panel(page, "clean", "Log")
        log = panel.get_by_test_id("log")
        page.get_by_test_id("run-pipeline").click(modifiers=["Shift"])
        expect_state(page, "load", "running")
        expect(log).to_contain_text("queued: the log starts when the node starts")
        gate.touch()
        expect(panel.get_by_test_id("log-text")).to_contain_text("cleaning")
        expect(panel.get_by_test_id("log-status")).to_have_text("● live")
        expect(log).not_to_contain_text("queued")
    finally:
        second.touch()
    expect_state(page, "clean", "completed")


def test_undoing_a_paste_into_another_pipeline_takes_out_the_parents_it_showed_there(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.pipelines.new("other", project="climate")
    ws.nodes.new("other", "mine")
    page.goto(served.link)
    select(page, "clean")
    press_on_canvas(page, "Control+c")
    expect(page.locator("[data-sonner-toast]", has_text="Copied clean")).to_be_visible()
    page.get_by_test_id("pipeline-item").filter(has_text="other").click()
    expect(node(page, "mine")).to_be_visible()
    press_on_canvas(page, "Control+v")
    # the copy reads its outside parent on the same slot: load is shown here, as a reference
    expect(node(page, "clean")).to_be_visible(timeout=60_000)
    expect(node(page, "load")).to_be_visible()
    assert ("load", "clean", "01") in server_edges(served, "other")

    page.get_by_test_id("undo").click()
    expect(node(page, "clean")).to_have_count(0)
    expect(node(page, "load")).to_have_count(0)  # the paste brought it: undo takes it out
    assert [n.tag for n in ws.nodes.list("other")] == ["mine"]
    assert {n.tag for n in ws.nodes.list("baseline")} == {"load", "clean", "plot"}
    assert ws.nodes.path("load", "baseline").is_dir()  # only its showing here went

    # pasted again, and a node of this pipeline reads the parent now: undo refuses, changing nothing
    press_on_canvas(page, "Control+v")
    expect(node(page, "load")).to_be_visible(timeout=60_000)
    answer = httpx.post(
        f"{served.url}/api/pipelines/other/edges",
        json={"parent": "load", "child": "mine"},
        headers=served.headers,
    )
    assert answer.status_code in (200, 201), answer.text
    expect(page.locator(".react-flow__edge")).to_have_count(2)  # the page sees the new edge
    page.get_by_test_id("undo").click()
    refused = page.locator("[data-sonner-toast]", has_text="Cannot undo paste clean")
    expect(refused).to_contain_text("mine reads load now")
    expect(refused).to_contain_text("Nothing was changed")
    assert sorted(n.tag for n in ws.nodes.list("other")) == ["clean", "load", "mine"]


def test_a_taken_tag_on_reference_names_the_menu_items_the_app_has(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.pipelines.new("other", project="climate")
    ws.nodes.new("other", "plot")
    page.goto(served.link)
    menu = right_click(page, "plot")
    expect(menu.get_by_role("menuitem", name="Reference into…")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Duplicate…")).to_be_visible()
    menu_item(page, "Reference into…").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator('[name="dialog-into"]').select_option(label="other")
    expect(dialog.get_by_text("Even where a node there has the same tag")).to_be_visible()
    dialog.get_by_test_id("dialog-confirm").click()
    refused = page.locator("[data-sonner-toast]", has_text="already has a node tagged 'plot'")
    expect(refused).to_contain_text("→ Reference into… (Even where a node there has the same tag)")
    expect(refused).to_contain_text('right-click node "plot" → Duplicate… (Into pipeline')
    assert [n.tag for n in ws.nodes.list("other")] == ["plot"]  # nothing shown there


def test_deleting_a_pipeline_names_what_each_of_its_nodes_loses_first(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    (ws.nodes.path("plot") / "data" / "chart.csv").write_text("x\n1\n")
    ws.pipelines.new("other", project="climate")
    ws.node_copies.reference(["clean"], into="other", pipeline="baseline")  # load comes too
    page.goto(served.link)
    page.get_by_role("button", name="actions of pipeline baseline").click()
    menu_item(page, "Delete…").click()
    dialog = page.get_by_test_id("dialog")
    losses = dialog.get_by_test_id("pipeline-removal").locator("li")
    expect(losses).to_have_count(3)
    expect(losses.filter(has_text="plot")).to_have_text(
        "plot — its folder is deleted: code, environment and its outputs"
    )
    expect(losses.filter(has_text="clean")).to_contain_text("leaves this pipeline;")
    expect(losses.filter(has_text="clean")).to_contain_text("now owns it")
    expect(dialog).to_contain_text("This cannot be undone: the outputs of plot are deleted")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert {n.tag for n in ws.nodes.list("baseline")} == {"load", "clean", "plot"}
    assert (ws.nodes.path("plot") / "data" / "chart.csv").exists()


def test_run_with_options_refuses_a_number_of_nodes_at_once_it_cannot_read(
    page: Page, served: Served
) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    page.goto(served.link)
    for typed in ("abc", "2.5"):
        page.get_by_role("button", name="Run with options (selection, jobs, executor)").click()
        dialog = page.get_by_test_id("dialog")
        dialog.locator('[name="dialog-jobs"]').fill(typed)
        dialog.get_by_test_id("dialog-confirm").click()
        refused = page.locator("[data-sonner-toast][data-type='error']", has_text=typed)
        expect(refused).to_contain_text(f"Nodes at once: '{typed}' is not a whole number")
        expect(refused).to_contain_text("Nothing was started")
    assert served.workspace.runs.history("baseline") == []
    expect(node(page, "load")).to_have_attribute("data-state", "ready")
