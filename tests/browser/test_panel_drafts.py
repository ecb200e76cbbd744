"""What is typed in a node's panel is never lost and never overwrites another's edit unseen.

A parameters save names the version it began from: params.yaml changed meanwhile (here by the
Python API, as ``params --set`` would, while the tab hears nothing) is refused by the server;
the tab shows theirs beside yours and offers Reload or Keep mine, in the app's words. Unsaved
typing in the panel (parameters, notes, a code file) survives a reload and a server restarted
with a new token (drafts, as the dialogs keep theirs), is dropped once saved, and a draft of a
node removed meanwhile is never applied to another node."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import signal
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from api.live import server_process
from browser.accessibility import expect_accessible
from browser.canvas import open_panel, press_in
from browser.conftest import Served
from support.waiting import wait_for

SHOTS = Path("/work/scratch/s42-h2-shots")
COMMAND = re.compile(r"`|\bnodepipe\b|--set")


def deaf(page: Page) -> None:
    """The tab hears no live event (as one whose stream is late): only its save learns of a
    change made elsewhere."""

    def refuse(route: Route) -> None:
        route.abort()

    page.route(re.compile(r".*/api/events.*"), refuse)


def test_a_save_over_parameters_changed_meanwhile_is_refused_and_shows_theirs_beside_yours(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    params = ws.nodes.path("train") / "code" / "params.yaml"
    params.write_text("lr: 0.1\n")
    deaf(page)
    page.goto(served.link)
    panel = open_panel(page, "train", "Parameters")
    editor = panel.get_by_test_id("params-editor")
    expect(editor).to_have_value("lr: 0.1\n")

    editor.fill("lr: 0.1\nepochs: 5\n")
    ws.nodes.set_params("train", ["lr=0.5"])  # `params --set lr=0.5` meanwhile: unheard here
    panel.get_by_test_id("params-save").click()
    conflict = panel.get_by_test_id("params-conflict")
    expect(conflict).to_contain_text("changed elsewhere")
    expect(conflict.get_by_test_id("params-theirs")).to_have_text("lr: 0.5\n")
    expect(conflict.get_by_test_id("params-yours")).to_have_text("lr: 0.1\nepochs: 5\n")
    assert not COMMAND.search(conflict.inner_text()), conflict.inner_text()
    expect(editor).to_have_value("lr: 0.1\nepochs: 5\n")  # the typing is kept
    expect(panel.get_by_test_id("params-save")).to_be_disabled()  # Reload or Keep mine
    assert params.read_text() == "lr: 0.5\n"  # nothing written
    page.screenshot(path=SHOTS / "params-conflict.png")
    expect_accessible(
        page, "the parameters' conflict", '[data-testid="params-conflict"]', strict=True
    )
    page.locator("html").evaluate("html => html.setAttribute('data-theme', 'dark')")
    panel.screenshot(path=SHOTS / "params-conflict-dark.png")
    expect_accessible(
        page, "dark: the parameters' conflict", '[data-testid="params-conflict"]', strict=True
    )
    page.locator("html").evaluate("html => html.setAttribute('data-theme', 'light')")

    conflict.get_by_test_id("params-reload").click()  # theirs
    expect(editor).to_have_value("lr: 0.5\n")
    expect(conflict).to_have_count(0)

    editor.fill("lr: 0.5\nepochs: 5\n")
    ws.nodes.set_params("train", ["lr=0.7"])
    panel.get_by_test_id("params-save").click()
    expect(conflict.get_by_test_id("params-theirs")).to_have_text("lr: 0.7\n")
    conflict.get_by_test_id("params-keep-mine").click()  # saved over theirs, knowingly
    wait_for(lambda: params.read_text() == "lr: 0.5\nepochs: 5\n", "mine to be saved", 20)
    expect(conflict).to_have_count(0)
    expect(panel.get_by_test_id("params-save")).to_be_disabled()
    assert ws.nodes.params("train") == {"lr": 0.5, "epochs": 5}


def test_unsaved_typing_in_the_panel_survives_a_reload_and_a_restart_with_a_new_token(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    ws.nodes.new("baseline", "gone")
    params = ws.nodes.path("train") / "code" / "params.yaml"
    params.write_text("lr: 0.1\n")
    page.goto(served.link)
    panel = open_panel(page, "train", "Overview")
    panel.locator('textarea[name="notes"]').fill("notes typed, not saved")
    panel.get_by_role("tab", name="Parameters").click()  # another tab of the panel: kept too
    editor = panel.get_by_test_id("params-editor")
    expect(editor).to_have_value("lr: 0.1\n")
    editor.fill("lr: 0.2\n")
    panel.get_by_role("tab", name="Overview").click()
    expect(panel.locator('textarea[name="notes"]')).to_have_value("notes typed, not saved")

    page.reload()  # a reload keeps what was typed
    panel = open_panel(page, "train", "Parameters")
    expect(panel.get_by_test_id("params-editor")).to_have_value("lr: 0.2\n")
    gone = open_panel(page, "gone", "Parameters")
    gone.get_by_test_id("params-editor").fill("typed for a node removed meanwhile: 1\n")
    page.wait_for_timeout(600)  # the draft is written once typing pauses

    os.kill(served.live.pid, signal.SIGKILL)
    os.waitpid(served.live.pid, 0)
    gone_id = ws.nodes.get("gone").id
    ws.nodes.delete(["gone"], "baseline")  # meanwhile: removed, and another made in its place
    ws.nodes.new("baseline", "gone")
    assert ws.nodes.get("gone").id != gone_id
    restarted = dataclasses.replace(served.live, token=secrets.token_urlsafe(24))
    with server_process(ws.root, tmp_path / "again.log", again=restarted) as live:
        expect(
            page.get_by_role("heading", name="This nodepipe server needs its token")
        ).to_be_visible(timeout=30_000)
        page.goto(live.link)
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
        expect(page.locator("[data-sonner-toast]", has_text="node's panel")).to_be_visible()
        panel = open_panel(page, "train", "Overview")
        expect(panel.locator('textarea[name="notes"]')).to_have_value("notes typed, not saved")
        panel.get_by_role("tab", name="Parameters").click()
        editor = panel.get_by_test_id("params-editor")
        expect(editor).to_have_value("lr: 0.2\n")
        page.screenshot(path=SHOTS / "params-draft-after-new-login.png")
        other = open_panel(page, "gone", "Parameters")  # the new node: never the removed one's
        expect(other.get_by_test_id("params-editor")).to_be_enabled()
        made = (ws.nodes.path("gone") / "code" / "params.yaml").read_text()
        expect(other.get_by_test_id("params-editor")).to_have_value(made)
        assert "typed for a node removed" not in made

        panel = open_panel(page, "train", "Parameters")
        panel.get_by_test_id("params-save").click()
        wait_for(lambda: params.read_text() == "lr: 0.2\n", "the draft to be saved", 20)
        expect(panel.get_by_test_id("params-save")).to_be_disabled()
        panel.get_by_role("tab", name="Overview").click()
        panel.get_by_role("button", name="Save notes").click()
        wait_for(lambda: ws.nodes.get("train").notes == "notes typed, not saved", "notes", 20)
        expect(panel.get_by_role("button", name="Save notes")).to_be_disabled()  # heard back

        ws.nodes.set_params("train", ["lr=0.3"])  # once saved, the draft is gone: a reload
        page.reload()  # shows the file as it is now
        panel = open_panel(page, "train", "Parameters")
        expect(panel.get_by_test_id("params-editor")).to_have_value("lr: 0.3\n")
        train = ws.nodes.get("train").id
        kept = page.evaluate("Object.keys(sessionStorage)")
        assert [key for key in kept if key.startswith(f"nodepipe.panel-draft:{train}:")] == []


def test_a_code_file_typed_in_survives_a_reload_still_based_on_the_version_it_began_from(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    main = ws.nodes.path("train") / "code" / "main.py"
    main.write_text("x = 1\n")
    page.goto(served.link)
    panel = open_panel(page, "train", "Code")
    content = panel.locator(".cm-content")
    expect(content).to_have_text("x = 1")
    content.click()
    press_in(content, "Control+End")
    page.keyboard.type("y = 2")
    expect(content).to_contain_text("y = 2")

    page.reload()
    panel = open_panel(page, "train", "Code")
    content = panel.locator(".cm-content")
    expect(content).to_contain_text("x = 1y = 2")  # the draft, not the file
    main.write_text("x = 'from my editor'\n")  # meanwhile: the draft is based on "x = 1"
    panel.get_by_test_id("code-save").click()
    expect(panel.get_by_test_id("code-conflict")).to_be_visible()
    assert main.read_text() == "x = 'from my editor'\n"
    panel.get_by_test_id("code-conflict").get_by_role("button", name="Overwrite").click()
    wait_for(lambda: main.read_text() == "x = 1\ny = 2", "the overwrite", 20)
    expect(panel.get_by_test_id("code-save")).to_be_disabled()  # the tab heard it saved

    main.write_text("z = 3\n")  # saved: the draft is gone, a reload shows the file
    page.reload()
    panel = open_panel(page, "train", "Code")
    expect(panel.locator(".cm-content")).to_have_text("z = 3")
