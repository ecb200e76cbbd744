"""No serious or critical accessibility violation (axe-core) on the app's views: the canvas with
nodes and the sidebar, the node panel on each tab (Outputs and Code too), a context menu and
its danger item hovered, a delete confirmation and a dialog with their danger and primary
buttons at rest, hovered and focused, the run preview, the find box, the shortcut sheet, the
History view with a run's timeline, an empty pipeline; in the light and the dark theme; a node
card's "shared env" badge in the dark theme; every dialog of the node and pipeline menus
(Import bundle…, Publish package… and Detach… too) in both themes, with no violation of any
impact inside it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from browser.accessibility import expect_accessible, expect_readable
from browser.canvas import (
    expect_state,
    menu_item,
    node,
    press_in,
    press_on_canvas,
    right_click,
    select,
)
from browser.conftest import Served
from nodepipe.services.runs.service import RunRequest
from support.worlds import CHAIN, add_nodes

TABS = ("Overview", "Parameters", "Environment", "Runs", "Log", "Outputs", "Code")
FIRST = next(iter(CHAIN))


def check_confirm(page: Page, dialog: Locator, variant: str, view: str) -> None:
    """The open dialog, then its confirm button (of ``variant``) hovered and focused: its text
    reads on its background in each state; the dialog is then cancelled."""
    confirm = dialog.get_by_test_id("dialog-confirm")
    expect(confirm).to_have_class(re.compile(rf"\b{variant}\b"))
    expect_accessible(page, view)
    confirm.hover()
    expect_accessible(page, f"{view}, its {variant} button hovered")
    confirm.focus()
    page.mouse.move(0, 0)
    expect_accessible(page, f"{view}, its {variant} button focused")
    press_in(dialog, "Escape")
    expect(dialog).to_have_count(0)


def check_views(page: Page, theme: str) -> None:
    """The canvas and sidebar, the node panel on each tab, a node's menu, a dialog."""
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect_accessible(page, f"{theme}: canvas with nodes and the sidebar")
    select(page, FIRST)
    panel = page.get_by_test_id("node-panel")
    for tab in TABS:
        panel.get_by_role("tab", name=tab).click()
        expect(panel.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        expect(panel.locator(".panel-body")).not_to_contain_text("Loading…")
        expect(panel.locator(".panel-body")).not_to_have_text("…")
        expect_accessible(page, f"{theme}: node panel, {tab} tab")

    right_click(page, FIRST)
    expect_accessible(page, f"{theme}: context menu of a node")
    delete = menu_item(page, "Delete…")
    delete.hover()
    expect_accessible(page, f"{theme}: a danger menu item hovered")
    delete.click()
    dialog = page.get_by_test_id("dialog")
    check_confirm(page, dialog, "danger", f"{theme}: the Delete confirmation (a danger button)")

    page.get_by_test_id("new-node").click()
    check_confirm(page, dialog, "primary", f"{theme}: the New node dialog")

    page.get_by_test_id("run-pipeline").click()
    expect(page.get_by_test_id("plan-preview")).to_contain_text("Nothing would run")
    page.get_by_test_id("dialog").get_by_text("Left out (3)").click()
    expect(page.get_by_test_id("plan-skipped")).to_contain_text("load: up to date")
    expect_accessible(page, f"{theme}: the run preview")
    press_in(dialog, "Escape")
    expect(dialog).to_have_count(0)

    press_on_canvas(page, "Control+k")
    query = page.get_by_test_id("find").get_by_role("combobox")
    query.fill("lo")
    expect(page.get_by_test_id("find").get_by_role("option").first).to_be_visible()
    expect_accessible(page, f"{theme}: the find box with results")
    press_in(query, "Escape")
    expect(page.get_by_test_id("find")).to_have_count(0)

    press_on_canvas(page, "?")
    sheet = page.get_by_test_id("shortcut-sheet")
    expect(sheet).to_be_visible()
    expect_accessible(page, f"{theme}: the shortcut sheet")
    press_in(sheet, "Escape")
    expect(sheet).to_have_count(0)

    page.get_by_test_id("open-history").click()
    expect(page.get_by_test_id("history-run").first).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("timeline-bar")).to_have_count(len(CHAIN))
    expect_accessible(page, f"{theme}: the History view and a run's timeline")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("history")).to_have_count(0)


def test_the_main_views_have_no_serious_violations(page: Page, served: Served) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.runs.run(RunRequest("baseline"))
    ws.pipelines.new("empty", project="climate")
    ws.shared_envs.new("tools")
    ws.pipelines.new("isolated", project="climate")
    ws.nodes.new("isolated", "quick", shared_env="tools")
    page.goto(served.link)
    expect_state(page, FIRST, "completed", 30_000)
    check_views(page, "light")
    page.get_by_title("Light or dark theme").click()
    check_views(page, "dark")

    page.get_by_test_id("pipeline-item").filter(has_text="empty").click()
    expect(page.get_by_test_id("empty-hint")).to_be_visible()
    expect_accessible(page, "an empty pipeline")

    page.get_by_test_id("pipeline-item").filter(has_text="isolated").click()
    badge = node(page, "quick").get_by_test_id("shared-env")
    expect(badge).to_be_visible()
    expect_accessible(page, "dark: a node on a shared environment")
    expect_readable(badge, "dark: the shared env badge of a node card")


NODE_DIALOGS = (
    "Duplicate…",
    "Replace…",
    "Reference into…",
    "Branch pipeline from here…",
    "Group…",
    "Add to group…",
    "Build library package…",
    "Delete outputs…",
    "Delete…",
)
PIPELINE_DIALOGS = (
    "Bundle inputs…",
    "Build package…",
    "Pull package…",
    "Include package…",
    "Rename…",
    "Notes…",
    "Duplicate…",
    "Merge with…",
    "Move to project…",
    "Base packages…",
    "Publish package…",
    "Delete…",
)
"""The menus' items that open a dialog at once (Import bundle… opens the file chooser first,
Detach… is offered for a reference only); Publish package… needs a package built."""


def check_dialog(page: Page, theme: str, menu: str, item: str) -> None:
    """Open ``item`` of the menu just opened and check its dialog (``check_open_dialog``)."""
    page.get_by_test_id("context-menu").get_by_role(
        "menuitem", name=re.compile(f"^{re.escape(item)}")
    ).click()
    check_open_dialog(page, f"{theme}: the {menu} menu's {item} dialog")


def check_open_dialog(page: Page, view: str) -> None:
    """The open dialog has no violation of any impact, and the page none serious; then it is
    cancelled."""
    dialog = page.get_by_test_id("dialog")
    expect(dialog).to_be_visible()
    expect_accessible(page, view)
    expect_accessible(page, view, within='[data-testid="dialog"]', strict=True)
    press_in(dialog, "Escape")
    expect(dialog).to_have_count(0)


def check_menu_dialogs(page: Page, theme: str, archive: Path) -> None:
    """Every dialog of the node and pipeline menus in ``theme``, Detach… (of a reference),
    Import bundle… (once its file is chosen) and Publish package… (a package built) too."""
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    for item in NODE_DIALOGS:
        right_click(page, FIRST)
        check_dialog(page, theme, "node", item)
    pipeline = page.locator('[data-testid="pipeline-item"][data-tag="baseline"]')
    for item in PIPELINE_DIALOGS:
        pipeline.click(button="right")
        check_dialog(page, theme, "pipeline", item)
    pipeline.click(button="right")
    with page.expect_file_chooser() as chooser:
        menu_item(page, "Import bundle…").click()
    chooser.value.set_files(str(archive))
    check_open_dialog(page, f"{theme}: the pipeline menu's Import bundle… dialog")

    page.locator('[data-testid="pipeline-item"][data-tag="other"]').click()
    expect(node(page, "plot")).to_be_visible()
    right_click(page, "plot")
    check_dialog(page, theme, "node", "Detach (private copy)…")
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    expect(node(page, FIRST)).to_be_visible()


def test_every_dialog_of_the_node_and_pipeline_menus_in_both_themes(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.runs.run(RunRequest("baseline"))  # outputs, for Delete outputs…
    ws.groups.new("baseline", "plots", ["plot"])  # a group, for Add to group…
    ws.pipelines.new("other", project="climate")  # a target, for Merge with… and Move to…
    ws.node_copies.reference(["plot"], into="other", pipeline="baseline")  # for Detach…
    ws.packages.build("baseline", destination=ws.packages.dist_dir)  # for Publish package…
    archive = tmp_path / "baseline.zip"  # only chosen: the dialog is cancelled
    archive.write_bytes(b"PK")
    page.goto(served.link)
    expect_state(page, FIRST, "completed", 30_000)
    check_menu_dialogs(page, "light", archive)
    page.get_by_title("Light or dark theme").click()
    check_menu_dialogs(page, "dark", archive)


def test_a_failed_run_reads_on_a_hovered_row_in_the_light_theme(page: Page, served: Served) -> None:
    """The failed state's red read 4.19:1 on a hovered row of the light theme (the node's
    Runs tab, the History view): it reads at least 4.5:1 there, as on a row at rest."""
    ws = served.workspace
    ws.nodes.new("baseline", "broken")
    (ws.nodes.path("broken") / "code" / "main.py").write_text("raise SystemExit(3)\n")
    ws.runs.run(RunRequest("baseline"))
    page.goto(served.link)
    expect_state(page, "broken", "failed", 30_000)
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    select(page, "broken")
    panel = page.get_by_test_id("node-panel")
    panel.get_by_role("tab", name="Runs").click()
    failed = panel.locator("td.run-failed").first
    expect(failed).to_have_text("failed")
    expect_readable(failed, "light: a failed run in the Runs tab, at rest")
    failed.hover()
    expect_readable(failed, "light: a failed run in the Runs tab, its row hovered")
    expect_accessible(page, "light: the Runs tab, a failed run's row hovered")

    page.get_by_test_id("open-history").click()
    outcome = page.get_by_test_id("run-outcome").first
    expect(outcome).to_have_text("failed")
    page.get_by_test_id("run-took").first.hover()  # the row, not the chosen bar's cell
    expect_readable(outcome, "light: a failed run in the History view, its row hovered")
