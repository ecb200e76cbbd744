"""Overview → Inputs → Connect on a named slot: a slot the child already reads, or a name that
is no slot, is said beside the slot field (no toast), what was chosen and typed is kept, and
the same form then connects; no violation in either theme with a refusal on screen."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import node, open_panel, server_edges
from browser.conftest import ARTIFACTS, Served


def test_a_refused_slot_is_said_beside_it_and_what_was_typed_stays(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    for tag in ("load", "clean", "train"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "train", "baseline", slot="data")
    page.goto(served.link)
    expect(node(page, "train")).to_be_visible()
    panel = open_panel(page, "train", "Overview")
    parent = panel.get_by_label("parent", exact=True)
    slot = panel.get_by_label("slot", exact=True)
    connect = panel.get_by_role("button", name="Connect")

    parent.select_option(label="clean")
    slot.fill("data")  # load feeds it already
    connect.click()
    said = panel.get_by_test_id("add-input-slot-problem")
    expect(said).to_have_text("slot data of train is already connected")
    expect(slot).to_have_attribute("aria-invalid", "true")
    expect(slot).to_be_focused()
    expect(slot).to_have_value("data")
    expect(parent.locator("option:checked")).to_have_text("clean")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    expect_accessible(
        page, "light: a slot refused beside it", within='[data-testid="node-panel"]', strict=True
    )
    page.screenshot(path=ARTIFACTS / "add-input-refused.png")

    slot.fill("no good/slot")
    expect(said).to_have_count(0)  # what was said was about what the field held
    connect.click()
    expect(said).to_contain_text("slot")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    page.get_by_title("Light or dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect_accessible(
        page, "dark: a slot refused beside it", within='[data-testid="node-panel"]', strict=True
    )

    slot.fill("extra")
    connect.click()
    expect(slot).to_have_value("")
    assert ("clean", "train", "extra") in server_edges(served)
