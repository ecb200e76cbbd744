"""Errors in the web app's words: what is wrong and the menu item that fixes it; uv's own text
(which speaks of its command-line options) only behind "Details"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browser.canvas import menu_item, node, open_panel
from browser.conftest import Served
from support.wheels import local_project
from support.worlds import CHAIN, add_nodes

MISSING = "nodepipe-no-such-package-zz"


def test_a_package_that_does_not_exist_is_said_in_the_apps_words(
    page: Page, served: Served
) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    before = served.workspace.envs.show("clean").direct
    page.goto(served.link)
    panel = open_panel(page, "clean", "Environment")
    panel.get_by_test_id("add-packages").fill(MISSING)
    panel.get_by_role("button", name="Add (lock and sync)").click()

    toast = page.locator("[data-sonner-toast][data-type='error']")
    expect(toast).to_contain_text(f"(could not add {MISSING})", timeout=60_000)
    details = toast.get_by_test_id("error-details")
    output = details.locator("pre")
    expect(output).to_be_hidden()  # uv's text waits behind the disclosure
    title = toast.locator("[data-title]")
    # nodepipe's words up front, nothing of uv's (its explanation, its hints, its options)
    words = f"a package or version asked for does not exist (could not add {MISSING})"
    expect(title).to_have_text(words)
    details.get_by_text("Details").click()
    expect(output).to_be_visible()
    expect(output).to_contain_text(MISSING)  # what uv said, in full
    assert served.workspace.envs.show("clean").direct == before  # nothing added


def test_deleting_a_locked_node_names_the_unlock_menu_item(page: Page, served: Served) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    served.workspace.nodes.set_locked("plot", True)
    page.goto(served.link)
    node(page, "plot").click(button="right")
    menu_item(page, "Delete…").click()
    refused = page.locator("[data-sonner-toast]", has_text="is locked")
    confirm = page.get_by_test_id("dialog-confirm")
    expect(confirm.or_(refused)).to_be_visible()
    if confirm.is_visible():
        confirm.click()
    expect(refused).to_contain_text("unlock it: right-click the node → Unlock")
    expect(refused).not_to_contain_text("nodepipe node unlock")
    expect(node(page, "plot")).to_be_visible()


def test_deleting_a_library_node_in_use_names_its_users_and_the_menu_items(
    page: Page, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    lib = ws.nodes.new("baseline", "lib")
    local_project(ws.nodes.path(lib.id) / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    ws.external.add_from_node("plot", "lib", "baseline")
    page.goto(served.link)
    node(page, "lib").click(button="right")
    menu_item(page, "Delete…").click()
    refused = page.locator("[data-sonner-toast]", has_text="is the library node of plot")
    expect(refused).to_contain_text('select node "plot" → Environment → remove mylib')
    expect(refused).to_contain_text('right-click node "lib" → Replace…')
    expect(refused).not_to_contain_text("nodepipe env remove")
    expect(node(page, "lib")).to_be_visible()
    assert ws.nodes.path(lib.id).is_dir()


SLASH = "it contains a slash; use letters, digits, '-', '_' or '.'"


def test_a_tag_the_server_refuses_is_said_beside_it_and_the_new_node_dialog_keeps_it(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    page.goto(served.link)
    expect(node(page, "load")).to_be_visible()
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    tag = dialog.locator('input[name="dialog-tag"]')
    problem = dialog.get_by_test_id("dialog-tag-problem")

    # taken: the dialog stays, with the tag typed, the server's reason beside the field
    tag.fill("load")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem).to_contain_text("the pipeline already has a node tagged 'load'")
    expect(problem).to_contain_text("choose another tag")
    expect(tag).to_have_value("load")
    expect(tag).to_be_focused()
    expect(tag).to_have_attribute("aria-invalid", "true")
    expect(tag).to_have_attribute("aria-describedby", "dialog-tag-problem")

    # invalid: said in a user's words, never with the request's field name before it
    tag.fill("raw/2024")
    expect(problem).to_have_count(0)  # what was said was about the tag typed before
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem).to_have_text(f"invalid tag 'raw/2024': {SLASH}")
    expect(tag).to_have_value("raw/2024")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)  # said in the dialog only
    assert [n.tag for n in ws.nodes.list("baseline")] == ["load"]

    tag.fill("raw-2024")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0)
    expect(node(page, "raw-2024")).to_be_visible()
    assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["load", "raw-2024"]


def test_a_refused_rename_is_a_sentence_without_the_requests_field_name(
    page: Page, served: Served
) -> None:
    served.workspace.nodes.new("baseline", "load")
    page.goto(served.link)
    panel = open_panel(page, "load")
    panel.locator('input[name="tag"]').fill("raw/2024")
    panel.get_by_role("button", name="Rename").click()
    toast = page.locator("[data-sonner-toast][data-type='error'] [data-title]")
    expect(toast).to_have_text(f"invalid tag 'raw/2024': {SLASH}")
    assert [n.tag for n in served.workspace.nodes.list("baseline")] == ["load"]
