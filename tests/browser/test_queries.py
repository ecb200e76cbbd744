"""What the page shows follows the server (the query cache of web/src/api/queries.ts): a change
made elsewhere refreshes the open node panel's tabs without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.canvas import open_panel
from browser.conftest import Served

ADDED = "nodepipe-added-elsewhere>=1"


def test_the_open_environment_tab_follows_a_change_made_on_disk(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    page.goto(served.link)
    panel = open_panel(page, "load", "Environment")
    environment = panel.get_by_test_id("environment")
    expect(environment).to_be_visible()
    expect(environment).not_to_contain_text(ADDED)
    page.evaluate("window.__notReloaded = true")

    # An editor (or the CLI) adds a requirement to the node's pyproject.toml.
    pyproject = ws.nodes.path("load") / "code" / "pyproject.toml"
    text = pyproject.read_text()
    assert "dependencies = [" in text, text
    pyproject.write_text(text.replace("dependencies = [", f'dependencies = [\n    "{ADDED}",', 1))

    expect(environment).to_contain_text(ADDED, timeout=30_000)
    assert page.evaluate("window.__notReloaded === true")  # the same page all along
