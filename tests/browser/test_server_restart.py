"""The server stopped while a dialog is open: submitting it says, in the app's words, that the
server cannot be reached and what to do (no browser jargon, no CLI command); the dialog keeps
what was typed, and once the server is back the same dialog goes through. A server started
again with a new token ends the tab's access (the login screen): what the open dialog held is
kept in the tab, the login screen and the app after it say so, and the dialog opened again
has it back."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import signal
from pathlib import Path

from playwright.sync_api import Page, expect

from api.live import server_process
from browser.accessibility import expect_accessible
from browser.canvas import node
from browser.conftest import ARTIFACTS, Served

COMMAND = re.compile(r"`|\bnodepipe (serve|server list|run|env|node|pipeline)\b")


def test_a_dialog_submitted_while_the_server_is_down_says_what_to_do_and_keeps_the_typing(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    page.goto(served.link)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator('[name="dialog-tag"]').fill("prep")

    os.kill(served.live.pid, signal.SIGKILL)  # the server goes while the dialog is open
    os.waitpid(served.live.pid, 0)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "false")
    dialog.get_by_test_id("dialog-confirm").click()
    said = dialog.get_by_test_id("dialog-problem")
    expect(said).to_have_text(
        "the nodepipe server cannot be reached (stopped, or restarting): "
        "try again once the toolbar shows live"
    )
    text = said.inner_text()
    assert "TypeError" not in text and not COMMAND.search(text), text
    expect(dialog.locator('[name="dialog-tag"]')).to_have_value("prep")

    with server_process(ws.root, tmp_path / "again.log", again=served.live):
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
        dialog.get_by_test_id("dialog-confirm").click()
        expect(dialog).to_have_count(0)
        expect(node(page, "prep")).to_be_visible()
    assert [item.node.tag for item in ws.pipelines.show("baseline").nodes] == ["prep"]


def test_what_a_dialog_held_when_the_server_restarted_with_a_new_token_comes_back_after_login(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    page.goto(served.link)
    page.get_by_title("Light or dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator('[name="dialog-tag"]').fill("prep with a long name typed before the restart")

    os.kill(served.live.pid, signal.SIGKILL)
    os.waitpid(served.live.pid, 0)
    restarted = dataclasses.replace(served.live, token=secrets.token_urlsafe(24))
    with server_process(ws.root, tmp_path / "again.log", again=restarted) as live:
        dialog.get_by_test_id("dialog-confirm").click()  # refused: the tab's token is the old one
        expect(
            page.get_by_role("heading", name="This nodepipe server needs its token")
        ).to_be_visible()
        expect(page.get_by_test_id("draft-kept")).to_contain_text("New node")
        expect_accessible(page, "the login screen saying a draft is kept", strict=True)

        page.goto(live.link)
        expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
        expect(page.locator("[data-sonner-toast]", has_text="New node")).to_be_visible()
        page.get_by_test_id("new-node").click()
        tag = dialog.locator('[name="dialog-tag"]')
        expect(tag).to_have_value("prep with a long name typed before the restart")
        expect(dialog.get_by_test_id("dialog-restored")).to_be_visible()
        expect_accessible(
            page,
            "dark: a dialog given back its draft",
            within='[data-testid="dialog"]',
            strict=True,
        )
        page.screenshot(path=ARTIFACTS / "dialog-draft-restored.png")
        tag.fill("prep")
        dialog.get_by_test_id("dialog-confirm").click()
        expect(node(page, "prep")).to_be_visible()
        # given back once: the next New node starts empty
        page.get_by_test_id("new-node").click()
        expect(dialog.locator('[name="dialog-tag"]')).to_have_value("")
        expect(dialog.get_by_test_id("dialog-restored")).to_have_count(0)
    assert [item.node.tag for item in ws.pipelines.show("baseline").nodes] == ["prep"]
