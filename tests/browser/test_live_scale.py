"""A run of 300 nodes started from the app: the page keeps up, live, and Kill answers.

Before the live updates were batched, each of the run's ~600 events re-rendered the whole
canvas: the page froze in one task for the length of the run, the cards jumped from all-ready to
all-completed, and Kill could not be clicked.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from browser.conftest import Served
from support.worlds import trivial_tree

NODES = 300
LONG_TASKS = """() => {
  window.__longest = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__longest = Math.max(window.__longest, entry.duration);
    }
  }).observe({ type: "longtask" });
}"""
DRAWN = f"() => document.querySelectorAll('[data-testid=node]').length === {NODES}"
COUNT = "() => [...document.querySelectorAll('[data-testid=node]')].map(n => n.dataset.state)"
MID_RUN = f"""() => {{
  const states = ({COUNT})();
  const done = states.filter(s => s === 'completed').length;
  return states.length === {NODES} && done > 0 && done < {NODES} ? done : false;
}}"""


def build(served: Served) -> None:
    """300 trivial nodes in a tree (each node's parent is a third of the way up), one shared
    environment (300 own environments would only make the test slower)."""
    trivial_tree(served.workspace, "baseline", NODES)


def test_a_300_node_run_shows_progress_live_and_kill_answers(page: Page, served: Served) -> None:
    build(served)
    page.goto(served.link)
    page.wait_for_function(DRAWN)
    page.evaluate(LONG_TASKS)
    page.get_by_role("button", name="Run the pipeline", exact=True).click(modifiers=["Shift"])
    # The cards move one by one: a moment with some completed and some not is on screen.
    page.wait_for_function(MID_RUN, timeout=120_000, polling=50)
    kill = page.get_by_role("button", name="Kill", exact=True)
    kill.click(trial=True, timeout=5_000)  # mid-run the page answers: Kill can be clicked
    expect(page.get_by_text("Run completed")).to_be_visible(timeout=120_000)
    page.wait_for_function(f"() => ({COUNT})().every(s => s === 'completed')")
    print(f"longest main-thread task during the run: {page.evaluate('window.__longest'):.0f} ms")

    # A forced re-run, killed mid-way from the toolbar: the run stops, not every node re-ran.
    page.get_by_role("button", name="Force re-run", exact=True).click(modifiers=["Shift"])
    page.wait_for_function(
        f"() => ({COUNT})().filter(s => s === 'queued' || s === 'running').length > {NODES // 2}",
        timeout=60_000,
        polling=50,
    )
    kill.click(timeout=5_000)
    expect(page.get_by_text("Stopping")).to_be_visible()
    ended = page.get_by_text(re.compile(r"^Run cancelled: \d+ completed"))
    expect(ended).to_be_visible(timeout=60_000)
    # Not every node re-ran. (A card shows "cancelled" only if the kill caught its process;
    # the nodes it reached before they started keep the state they had.)
    completed = re.search(r"(\d+) completed", ended.inner_text())
    assert completed is not None and int(completed.group(1)) < NODES
