"""The server stopped while a dialog is open: submitting it says, in the app's words, that the
server cannot be reached and what to do (no browser jargon, no CLI command); the dialog keeps
what was typed, and once the server is back the same dialog goes through."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from playwright.sync_api import Page, expect

from api.live import server_process
from browser.canvas import node
from browser.conftest import Served

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
