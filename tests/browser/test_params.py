"""The parameters editor: comments survive a save, Save follows what the file holds, and the
canvas shows the node stale as soon as a value changed."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from browser.canvas import expect_state, open_panel
from browser.conftest import Served
from nodepipe.services.runs.service import RunRequest
from support.waiting import wait_for

COMMENTED = "# how fast the optimiser learns\nlr: 0.01  # tuned by hand\n"


def test_a_save_keeps_comments_re_enables_and_makes_the_card_stale(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    ws.nodes.set_params("train", replace_with=COMMENTED)
    ws.runs.run(RunRequest("baseline"))
    page.goto(served.link)
    expect_state(page, "train", "completed")
    panel = open_panel(page, "train", "Parameters")
    editor = panel.get_by_test_id("params-editor")
    expect(editor).to_have_value(COMMENTED)  # the file as written, not re-dumped

    changed = COMMENTED.replace("0.01", "0.1")
    editor.fill(changed)
    save = panel.get_by_test_id("params-save")
    save.click()
    expect(page.locator("[data-sonner-toast]", has_text="Saved the parameters")).to_be_visible()
    assert (ws.nodes.path("train") / "code" / "params.yaml").read_text() == changed
    expect_state(page, "train", "stale", 30_000)  # as the CLI says, without a reload

    expect(save).to_be_disabled()  # nothing to save: the file holds the text
    editor.fill(COMMENTED)  # the previous value, typed back
    expect(save).to_be_enabled()
    save.click()
    wait_for(lambda: ws.nodes.params("train") == {"lr": 0.01}, "the previous value saved")
    expect(save).to_be_disabled()


def test_typing_is_kept_when_the_file_changes_on_disk_meanwhile(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    ws.nodes.set_params("train", replace_with=COMMENTED)
    page.goto(served.link)
    panel = open_panel(page, "train", "Parameters")
    editor = panel.get_by_test_id("params-editor")
    expect(editor).to_have_value(COMMENTED)

    editor.fill("lr: 0.5\n")  # typed, not saved
    with page.expect_response(
        lambda answer: answer.request.method == "GET" and "/nodes/" in answer.url
    ):
        (ws.nodes.path("train") / "code" / "params.yaml").write_text("lr: 0.2\n")
    expect(editor).to_have_value("lr: 0.5\n")  # the late reload did not throw the typing away
    # theirs shown beside it: a save over theirs is Keep mine, knowingly
    expect(panel.get_by_test_id("params-theirs")).to_have_text("lr: 0.2\n")
    expect(panel.get_by_test_id("params-keep-mine")).to_be_enabled()
    panel.get_by_role("button", name="Revert").click()
    expect(editor).to_have_value("lr: 0.2\n")  # Revert goes back to what the file holds now
