"""A node run's long steps besides its process show on its card while they go, as the CLI's
live line shows them: recording gigabytes of new outputs takes seconds after the process
ended, and the card says "recording outputs (0.4 / 1.2 GB)" instead of nothing."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from browser.canvas import expect_state, node
from browser.conftest import Served
from nodepipe.workspace.file_digests import SHOW_RECORDING_BYTES

BIG = SHOW_RECORDING_BYTES + 700 * 2**20
WRITES_BIG = f"""\
import nodepipe_node as node
with open(node.data_dir() / "big.bin", "wb") as out:
    out.truncate({BIG})  # sparse: no disk, all of it hashed
"""

# Every text the card's detail line shows, kept by the page itself: the step lasts a second or
# two, and the test must not depend on looking at the right moment.
WATCH = """(card) => {
  window.seenDetails = [];
  const keep = () => window.seenDetails.push(card.querySelector('.step-detail')?.textContent ?? '');
  new MutationObserver(keep).observe(card, {subtree: true, childList: true, characterData: true});
}"""


def test_recording_large_outputs_shows_on_the_card_while_it_goes(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "big")
    (ws.nodes.path("big") / "code" / "main.py").write_text(WRITES_BIG)
    page.goto(served.link)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-connected", "true")
    node(page, "big").evaluate(WATCH)

    started = httpx.post(
        f"{served.url}/api/pipelines/baseline/runs", json={}, headers=served.headers
    )
    assert started.status_code == 202, started.text
    expect_state(page, "big", "completed")

    seen: list[str] = page.evaluate("window.seenDetails")
    size = f"{BIG / 1e9:.1f}"
    shown = [text for text in seen if "recording outputs" in text]
    assert shown, f"the card never said it was recording outputs: {seen}"
    step = re.compile(rf"^running · recording outputs \(\d\.\d / {size} GB\)$")
    assert all(step.search(text) for text in shown), shown
    expect(node(page, "big")).not_to_contain_text("recording outputs")  # gone once it finished
