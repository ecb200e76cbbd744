"""Hostile input in the web app's text fields: markup in a tag, notes and parameters is shown
as text (nothing runs, no element is made of it), and a refusal quoting a very long name wraps
inside its dialog instead of running out of it over the canvas."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.canvas import node, open_panel
from browser.conftest import Served

MARKUP = "<img src=x onerror=alert(1)>"
LONG = "n" * 300


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
    )


def test_a_refusal_quoting_a_very_long_name_stays_inside_its_dialog(
    page: Page, served: Served
) -> None:
    page.goto(served.link)
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    dialog.locator('[name="dialog-tag"]').fill(LONG)
    dialog.get_by_test_id("dialog-confirm").click()
    problem = dialog.get_by_test_id("dialog-tag-problem")
    expect(problem).to_contain_text("longer than 100 characters")
    box, said = dialog.bounding_box(), problem.bounding_box()
    assert box is not None and said is not None
    assert inside(said, box), f"the refusal runs out of its dialog: {said} beyond {box}"
    assert dialog.evaluate("e => e.scrollWidth <= e.clientWidth"), "the dialog scrolls sideways"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert served.workspace.pipelines.show("baseline").nodes == ()


def test_markup_in_a_tag_notes_and_parameters_is_shown_as_text(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", MARKUP.replace("/", ""))  # a tag has no '/'
    page.on("dialog", lambda alert: (_ for _ in ()).throw(AssertionError(alert.message)))
    page.goto(served.link)
    tag = MARKUP.replace("/", "")
    expect(node(page, tag)).to_contain_text("<img src=x")
    panel = open_panel(page, tag, "Overview")
    panel.locator('textarea[name="notes"]').fill(f"{MARKUP}<script>alert(2)</script>")
    panel.get_by_role("button", name="Save notes").click()
    expect(panel.get_by_role("button", name="Save notes")).to_be_disabled()
    panel.get_by_role("tab", name="Parameters").click()
    editor = panel.get_by_test_id("params-editor")
    editor.fill(f'label: "{MARKUP}"\n')
    panel.get_by_test_id("params-save").click()
    expect(page.locator("[data-sonner-toast]", has_text="Saved the parameters")).to_be_visible()
    page.reload()
    expect(node(page, tag)).to_be_visible()
    assert page.locator("img[src='x']").count() == 0
    assert ws.nodes.get(tag).notes.startswith(MARKUP)


def test_a_pipeline_tag_of_100_characters_ends_inside_the_toolbar_and_the_history_heading(
    page: Page, served: Served
) -> None:
    tag = "Q" * 100  # the longest tag there is
    served.workspace.pipelines.new(tag, project="climate")
    page.goto(served.link)
    page.locator(f'[data-testid="pipeline-item"][data-tag="{tag}"]').click()
    title = page.locator(".toolbar-title b")
    expect(title).to_have_text(tag)
    toolbar = page.get_by_role("toolbar").first
    bar, said = toolbar.bounding_box(), title.bounding_box()
    assert bar is not None and said is not None
    assert said["x"] + said["width"] <= bar["x"] + bar["width"], f"{said} runs out of {bar}"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    expect(title).to_have_attribute("title", tag)  # all of it, on hover

    page.get_by_test_id("open-history").click()  # the History view's heading ends inside too
    heading = page.get_by_test_id("history").locator("h2")
    expect(heading).to_contain_text(tag)
    assert heading.evaluate("e => e.getBoundingClientRect().right <= innerWidth")
    expect(heading).to_have_attribute("title", tag)
