"""Update include… in the web app feeds the include's inputs, as the CLI's `include --update
--input NAME=NODE` does: the dialog lists each input with the node feeding it; a bundle that
renamed its input is refused beside the input it no longer declares, the input it declares now
gets its own field (refused beside it until fed), and the update goes through once each is fed.
The dialog has no accessibility violation in either theme."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import node
from browser.conftest import ARTIFACTS, Served
from support.locked_bundles import alpha_including_features

RENAMED = """\
format = 1
[pipeline]
name = "features"
[inputs]
source = ["clean"]
[nodes.clean]
"""
"""The library's pipeline.toml once its input ``raw`` is called ``source``."""


def open_update(page: Page) -> None:
    page.get_by_test_id("group-frame").locator(".group-label").click(button="right")
    # (before, "Update include" updated at once, with no dialog and no way to feed an input)
    page.get_by_test_id("context-menu").get_by_role(
        "menuitem", name=re.compile("^Update include")
    ).click()


def check_dialog(page: Page, view: str) -> None:
    expect_accessible(page, view)
    expect_accessible(page, view, within='[data-testid="dialog"]', strict=True)


def test_update_include_feeds_a_renamed_input_from_a_node_chosen_in_its_dialog(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    features, project = alpha_including_features(tmp_path)
    ws.bundles.import_(project, project="climate")
    ws.nodes.new("alpha", "load")
    (features / "pipeline.toml").write_text(RENAMED)

    page.goto(served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="alpha"]').click()
    expect(node(page, "features.clean")).to_be_visible()
    open_update(page)
    dialog = page.get_by_test_id("dialog")
    raw = dialog.locator('[name="dialog-inputs.raw"]')
    expect(raw.locator("option:checked")).to_have_text("prep")
    # the include's own node cannot feed it
    expect(raw.locator("option", has_text="features.clean")).to_have_count(0)
    check_dialog(page, "the Update include… dialog")

    dialog.get_by_test_id("dialog-confirm").click()
    said = dialog.get_by_test_id("dialog-inputs.raw-problem")
    expect(said).to_contain_text("declares no input 'raw'")
    expect(raw).to_be_focused()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)

    raw.select_option(label="(drop this input: the bundle no longer declares it)")
    dialog.get_by_test_id("dialog-confirm").click()
    source = dialog.locator('[name="dialog-inputs.source"]')
    expect(dialog.get_by_test_id("dialog-inputs.source-problem")).to_contain_text(
        "input 'source' is not fed"
    )
    expect(source).to_be_focused()
    check_dialog(page, "the Update include… dialog, an input refused beside it")
    page.screenshot(path=ARTIFACTS / "include-update-refused.png")

    source.select_option(label="load")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0, timeout=60_000)
    expect(page.locator("[data-sonner-toast]", has_text="Updated include features")).to_be_visible()
    (include,) = ws.bundles.includes("alpha")
    assert dict(include.include.inputs) == {"source": "load"}
    shown = ws.pipelines.show("alpha")
    tags = {item.node.id: item.node.tag for item in shown.nodes}
    fed = {(tags[e.parent_id], tags[e.child_id], e.slot) for e in shown.edges}
    assert ("load", "features.clean", "source") in fed
    assert ("prep", "features.clean", "raw") not in fed


def test_update_include_dialog_in_the_dark_theme_adds_an_input(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """The input the bundle declares now, added in the dialog by name before updating."""
    ws = served.workspace
    features, project = alpha_including_features(tmp_path)
    ws.bundles.import_(project, project="climate")
    (features / "pipeline.toml").write_text(RENAMED)

    page.goto(served.link)
    page.get_by_title("Light or dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.locator('[data-testid="pipeline-item"][data-tag="alpha"]').click()
    expect(node(page, "features.clean")).to_be_visible()
    open_update(page)
    dialog = page.get_by_test_id("dialog")
    check_dialog(page, "dark: the Update include… dialog")
    dialog.locator('[name="dialog-inputs.raw"]').select_option(
        label="(drop this input: the bundle no longer declares it)"
    )
    dialog.locator('[name="dialog-add.name"]').fill("source")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog.get_by_test_id("dialog-add.node-problem")).to_contain_text("choose the node")
    check_dialog(page, "dark: the Update include… dialog, a field refused")
    dialog.locator('[name="dialog-add.node"]').select_option(label="prep")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0, timeout=60_000)
    (include,) = ws.bundles.includes("alpha")
    assert dict(include.include.inputs) == {"source": "prep"}


def test_the_group_menu_and_update_include_work_from_the_keyboard(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """Keyboard only from the group's label: Shift+F10 opens its menu, Enter Update include…,
    the arrow keys choose the node feeding the input, Tab and Enter update."""
    ws = served.workspace
    _, project = alpha_including_features(tmp_path)
    ws.bundles.import_(project, project="climate")
    ws.nodes.new("alpha", "load")

    page.goto(served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="alpha"]').click()
    expect(node(page, "features.clean")).to_be_visible()
    label = page.get_by_test_id("group-frame").locator(".group-label")
    label.focus()
    page.keyboard.press("Shift+F10")
    menu = page.get_by_test_id("context-menu")
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    expect(menu.get_by_role("menuitem").first).to_have_text(re.compile("^Update include"))
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("dialog")
    raw = dialog.locator('[name="dialog-inputs.raw"]')
    expect(raw).to_be_focused()  # the first field
    page.keyboard.press("ArrowUp")  # "load" comes before "prep"
    expect(raw.locator("option:checked")).to_have_text("load")
    confirm = dialog.get_by_test_id("dialog-confirm")
    for _ in range(6):  # Tab on to Update
        page.keyboard.press("Tab")
        if confirm.evaluate("(button) => button === document.activeElement"):
            break
    expect(confirm).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0, timeout=60_000)
    (include,) = ws.bundles.includes("alpha")
    assert dict(include.include.inputs) == {"raw": "load"}
