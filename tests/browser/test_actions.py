"""Menus, keyboard, panels and pipeline management in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.canvas import (
    menu_item,
    node,
    open_panel,
    press_on_canvas,
    right_click,
    select,
    settle,
)
from browser.conftest import ARTIFACTS, Served
from support.worlds import CHAIN, add_nodes


def choose(page: Page, tag: str, item: str) -> None:
    """An item of the node's context menu."""
    right_click(page, tag).get_by_role("menuitem", name=item).click()


def confirm(page: Page) -> None:
    page.get_by_test_id("dialog-confirm").click()
    expect(page.get_by_test_id("dialog")).to_have_count(0)


def test_menus_keyboard_groups_and_a_named_deletion(page: Page, served: Served) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    ws = served.workspace
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()
    settle(page)  # fitted: the boxes measured are where the cards stay

    boxes = [node(page, tag).bounding_box() for tag in ("load", "clean", "plot")]
    left = min(b["x"] for b in boxes if b) - 40
    top = min(b["y"] for b in boxes if b) - 40
    right = max(b["x"] + b["width"] for b in boxes if b) + 40
    bottom = max(b["y"] + b["height"] for b in boxes if b) + 40
    page.keyboard.down("Shift")
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move(right, bottom, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.locator(".react-flow__node.selected")).to_have_count(3)
    press_on_canvas(page, "Escape")

    choose(page, "clean", "Lock")
    expect(node(page, "clean").locator('[data-look="locked"]')).to_be_visible()
    choose(page, "clean", "Mark stale")  # refused: the toast names the menu item, no command
    refused = page.locator("[data-sonner-toast]", has_text="is locked")
    expect(refused).to_contain_text("unlock it: right-click the node → Unlock")
    expect(refused).not_to_contain_text("nodepipe node unlock")
    choose(page, "clean", "Unlock")
    expect(node(page, "clean").locator('[data-look="locked"]')).to_have_count(0)
    choose(page, "load", "Mark stale")
    expect(page.locator("[data-sonner-toast]", has_text="it never ran")).to_be_visible()
    choose(page, "load", "Mark completed")
    expect(node(page, "load")).not_to_have_attribute("data-state", "ready")
    assert ws.nodes.get("load").state.value == "completed"

    select(page, "load")
    select(page, "clean", add=True)
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    choose(page, "clean", "Group…")
    page.get_by_test_id("dialog").locator("input").fill("prep")
    confirm(page)
    expect(page.get_by_test_id("group-frame")).to_be_visible()
    page.get_by_test_id("group-frame").get_by_role("button").click()
    expect(page.get_by_test_id("group-collapsed")).to_contain_text("prep")
    expect(node(page, "load")).to_have_count(0)
    page.get_by_test_id("group-collapsed").get_by_role("button").click()
    expect(node(page, "load")).to_be_visible()
    assert [g.name for g in ws.groups.list("baseline")] == ["prep"]

    settle(page)
    page.locator(".react-flow__pane").click(position={"x": 40, "y": 300})
    press_on_canvas(page, "Control+a")
    expect(page.locator(".react-flow__node.selected")).to_have_count(3)
    press_on_canvas(page, "Escape")
    expect(page.locator(".react-flow__node.selected")).to_have_count(0)

    select(page, "plot")  # a key pressed before it is selected would reach nothing
    press_on_canvas(page, "Escape")
    expect(page.locator(".react-flow__node.selected")).to_have_count(0)
    select(page, "plot")
    press_on_canvas(page, "Delete")
    dialog = page.get_by_test_id("dialog")
    expect(dialog).to_contain_text("plot")
    expect(dialog).to_contain_text("its folder is deleted")
    page.screenshot(path=ARTIFACTS / "delete-confirmation.png")
    confirm(page)
    expect(node(page, "plot")).to_have_count(0)
    assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["clean", "load"]


def test_node_panel_parameters_are_validated_before_saving(page: Page, served: Served) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    page.goto(served.link)
    panel = open_panel(page, "clean", "Overview")
    expect(panel).to_contain_text("never ran")
    panel.get_by_role("tab", name="Parameters").click()
    editor = panel.get_by_test_id("params-editor")
    editor.fill("threshold: [0.5,\n")
    expect(panel.get_by_test_id("params-error")).to_be_visible()
    expect(panel.get_by_test_id("params-save")).to_be_disabled()
    editor.fill("- not a mapping\n")
    expect(panel.get_by_test_id("params-error")).to_contain_text("mapping")
    editor.fill("threshold: 0.5\ncolumns: [a, b]\n")
    expect(panel.get_by_test_id("params-error")).to_have_count(0)
    panel.get_by_test_id("params-save").click()
    expect(page.locator("[data-sonner-toast]", has_text="Saved the parameters")).to_be_visible()
    assert served.workspace.nodes.params("clean") == {"threshold": 0.5, "columns": ["a", "b"]}
    panel.get_by_role("tab", name="Environment").click()
    expect(panel.get_by_test_id("environment")).to_contain_text("Python")
    panel.get_by_role("tab", name="Runs").click()
    expect(panel).to_contain_text("never ran")


def test_pipelines_copies_references_and_lineage(page: Page, served: Served) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    ws = served.workspace
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()

    page.get_by_test_id("new-pipeline").click()
    page.get_by_test_id("dialog").locator("input").fill("other")
    confirm(page)
    expect(page.locator(".toolbar-title")).to_contain_text("other")
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    expect(node(page, "load")).to_be_visible()

    choose(page, "clean", "Reference into…")
    confirm(page)
    expect(page.locator("[data-sonner-toast]", has_text="Now shown there")).to_be_visible()
    choose(page, "plot", "Duplicate…")
    dialog = page.get_by_test_id("dialog")
    dialog.locator("select").select_option(label="other")
    confirm(page)
    expect(page.locator("[data-sonner-toast]", has_text="duplicated as plot")).to_be_visible()

    page.locator('[data-testid="pipeline-item"][data-tag="other"]').click()
    expect(node(page, "plot")).to_be_visible()
    expect(node(page, "clean").locator('[data-look="referenced"]')).to_be_visible()
    choose(page, "clean", "Detach (private copy)…")
    confirm(page)
    expect(node(page, "clean").locator('[data-look="referenced"]')).to_have_count(0, timeout=30_000)

    page.locator('[data-testid="pipeline-item"][data-tag="other"]').click(button="right")
    menu_item(page, "Duplicate…").click()
    page.get_by_test_id("dialog").locator('input[type="text"]').fill("other-copy")
    confirm(page)
    expect(page.locator(".toolbar-title")).to_contain_text("other-copy", timeout=30_000)
    expect(page.get_by_test_id("lineage").locator(".lineage-edge")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "pipelines-and-lineage.png")

    page.locator('[data-testid="pipeline-item"][data-tag="other-copy"]').click(button="right")
    menu_item(page, "Delete…").click()
    removal = page.get_by_test_id("dialog").get_by_test_id("pipeline-removal")
    expect(removal).to_contain_text("clean — its folder is deleted")  # each node's loss named
    confirm(page)
    expect(page.locator('[data-testid="pipeline-item"][data-tag="other-copy"]')).to_have_count(0)
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "other"]


def test_move_to_project_offers_only_the_projects_the_pipeline_is_not_in(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.projects.new("ocean")
    climate = ws.projects.get("climate").id
    page.goto(served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click(button="right")
    menu_item(page, "Move to project…").click()
    choices = page.get_by_test_id("dialog").locator('select[name="dialog-project"] option')
    expect(choices).to_have_count(len(ws.projects.list()) - 1)  # all but the one it is in
    offered = choices.all_inner_texts()
    assert "climate" not in offered and "ocean" in offered, offered
    page.get_by_test_id("dialog").locator("select").select_option(label="ocean")
    confirm(page)
    expect(page.locator(".toolbar-title")).to_contain_text("ocean")  # the sidebar follows it
    assert ws.pipelines.get("baseline").project_id == ws.projects.get("ocean").id != climate
