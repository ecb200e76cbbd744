"""Two tabs on the same pipeline: what one saves shows in the other live, and a change made in
one while the other has unsaved typing is never overwritten unseen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from browser.canvas import open_panel
from browser.conftest import Served
from support.waiting import wait_for


@pytest.fixture
def second(browser: Browser) -> Iterator[Page]:
    """Another tab (its own session, as a second window is) on the same server."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    yield context.new_page()
    context.close()


def params_of(page: Page, link: str) -> Locator:
    page.goto(link)
    panel = open_panel(page, "train", "Parameters")
    editor = panel.get_by_test_id("params-editor")
    expect(editor).to_be_enabled()
    return panel


def save(panel: Locator, text: str, params: Path) -> None:
    """Type ``text`` in the tab's editor and save it; back once the file holds it."""
    panel.get_by_test_id("params-editor").fill(text)
    panel.get_by_test_id("params-save").click()
    wait_for(lambda: params.read_text() == text, "the parameters to be saved", 20)
    expect(panel.get_by_test_id("params-save")).to_be_disabled()


def test_a_parameter_saved_in_one_tab_is_never_overwritten_unseen_by_the_other(
    page: Page, second: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    params = ws.nodes.path("train") / "code" / "params.yaml"
    params.write_text("lr: 0.1\n")
    first, other = params_of(page, served.link), params_of(second, served.link)
    editor = other.get_by_test_id("params-editor")
    expect(editor).to_have_value("lr: 0.1\n")

    save(first, "lr: 0.2\n", params)  # the other tab, not typing, follows live
    expect(editor).to_have_value("lr: 0.2\n")

    editor.fill("lr: 0.2\nepochs: 5\n")  # typing, unsaved, while the first tab saves again
    save(first, "lr: 0.3\n", params)
    notice = other.get_by_test_id("params-conflict")  # heard live: theirs beside yours
    expect(notice).to_contain_text("changed elsewhere")
    expect(notice.get_by_test_id("params-theirs")).to_have_text("lr: 0.3\n")
    expect(editor).to_have_value("lr: 0.2\nepochs: 5\n")  # the typing is kept
    expect(other.get_by_test_id("params-save")).to_be_disabled()
    assert params.read_text() == "lr: 0.3\n"
    notice.get_by_role("button", name="Reload").click()  # theirs
    expect(editor).to_have_value("lr: 0.3\n")
    expect(notice).to_have_count(0)

    editor.fill("lr: 0.3\nepochs: 5\n")
    save(first, "lr: 0.4\n", params)
    expect(notice).to_be_visible()
    assert params.read_text() == "lr: 0.4\n"
    notice.get_by_role("button", name="Keep mine").click()  # seen: now it replaces them
    expect(first.get_by_test_id("params-editor")).to_have_value("lr: 0.3\nepochs: 5\n")
    expect(notice).to_have_count(0)
    assert params.read_text() == "lr: 0.3\nepochs: 5\n"


def overview_of(page: Page, link: str) -> Locator:
    page.goto(link)
    return open_panel(page, "train", "Overview")


def test_notes_and_a_rename_in_one_tab_show_in_the_other_and_its_typing_is_kept(
    page: Page, second: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    first, other = overview_of(page, served.link), overview_of(second, served.link)
    notes = other.locator('textarea[name="notes"]')
    expect(notes).to_have_value("")

    first.locator('textarea[name="notes"]').fill("from the first tab")
    first.get_by_role("button", name="Save notes").click()
    expect(notes).to_have_value("from the first tab")  # followed live: nothing typed here
    expect(other.get_by_role("button", name="Save notes")).to_be_disabled()

    notes.fill("typed in the second")
    first.locator('textarea[name="notes"]').fill("saved again in the first")
    first.get_by_role("button", name="Save notes").click()
    expect(other.get_by_test_id("notes-changed-elsewhere")).to_contain_text("Save notes replaces")
    expect(notes).to_have_value("typed in the second")
    assert ws.nodes.get("train").notes == "saved again in the first"

    first.locator('input[name="tag"]').fill("fit")
    first.get_by_role("button", name="Rename").click()
    tag = other.locator('input[name="tag"]')
    expect(tag).to_have_value("fit")  # the other tab's field follows: its Rename stays off
    expect(other.get_by_role("button", name="Rename")).to_be_disabled()


def test_a_node_removed_in_another_tab_closes_its_panel_here_without_an_error(
    page: Page, served: Served
) -> None:
    """A tab showing a node's panel while the node is removed elsewhere said an error naming
    the node's id ("no node 'tkbvw9u4' in pipeline …; known: …"): the panel closes and says
    the node was removed."""
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    ws.nodes.new("baseline", "keep")
    page.goto(served.link)
    open_panel(page, "train", "Overview")
    removed = httpx.delete(  # as another tab does
        f"{served.url}/api/pipelines/baseline/nodes",
        params={"nodes": ws.nodes.get("train").id},
        headers=served.headers,
    )
    assert removed.is_success, removed.text
    expect(page.get_by_test_id("node-panel")).to_have_count(0)
    toasts = page.locator("[data-sonner-toast]")
    expect(toasts.filter(has_text="train was removed elsewhere")).to_be_visible()
    expect(toasts.filter(has_text="no node")).to_have_count(0)
