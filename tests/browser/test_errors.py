"""Errors in the web app's words: what is wrong and the menu item that fixes it; uv's own text
(which speaks of its command-line options) only behind "Details"."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

import nodepipe
from api.live import server_process
from browser.accessibility import expect_accessible
from browser.canvas import menu_item, node, open_panel, right_click
from browser.conftest import ARTIFACTS, Served
from nodepipe.domain.names import NAME_RULE
from nodepipe.services.runs.service import RunRequest
from support.waiting import wait_for
from support.wheels import local_project, toy_index
from support.worlds import CHAIN, add_nodes

MISSING = "nodepipe-no-such-package-zz"


def test_a_package_that_does_not_exist_is_said_in_the_apps_words(
    page: Page, served: Served
) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    before = served.workspace.envs.show("clean").direct
    page.goto(served.link)
    panel = open_panel(page, "clean", "Environment")
    panel.get_by_test_id("add-packages").fill(MISSING)
    panel.get_by_role("button", name="Add (lock and sync)").click()

    toast = page.locator("[data-sonner-toast][data-type='error']")
    expect(toast).to_contain_text(f"(could not add {MISSING})", timeout=60_000)
    details = toast.get_by_test_id("error-details")
    output = details.locator("pre")
    expect(output).to_be_hidden()  # uv's text waits behind the disclosure
    title = toast.locator("[data-title]")
    # nodepipe's words up front, nothing of uv's (its explanation, its hints, its options)
    words = f"a package or version asked for does not exist (could not add {MISSING})"
    expect(title).to_have_text(words)
    details.get_by_text("Details").click()
    expect(output).to_be_visible()
    expect(output).to_contain_text(MISSING)  # what uv said, in full
    assert served.workspace.envs.show("clean").direct == before  # nothing added


def test_deleting_a_locked_node_names_the_unlock_menu_item(page: Page, served: Served) -> None:
    add_nodes(served.workspace, "baseline", CHAIN)
    served.workspace.nodes.lock("plot")
    page.goto(served.link)
    node(page, "plot").click(button="right")
    menu_item(page, "Delete…").click()
    refused = page.locator("[data-sonner-toast]", has_text="is locked")
    confirm = page.get_by_test_id("dialog-confirm")
    expect(confirm.or_(refused)).to_be_visible()
    if confirm.is_visible():
        confirm.click()
    expect(refused).to_contain_text("unlock it: right-click the node → Unlock")
    expect(refused).not_to_contain_text("nodepipe node unlock")
    expect(node(page, "plot")).to_be_visible()


def test_deleting_a_library_node_in_use_names_its_users_and_the_menu_items(
    page: Page, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    lib = ws.nodes.new("baseline", "lib")
    local_project(ws.nodes.path(lib.id) / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    ws.external.add_from_node("plot", "lib", "baseline")
    page.goto(served.link)
    node(page, "lib").click(button="right")
    menu_item(page, "Delete…").click()
    refused = page.locator("[data-sonner-toast]", has_text="is the library node of plot")
    expect(refused).to_contain_text('select node "plot" → Environment → remove mylib')
    expect(refused).to_contain_text('right-click node "lib" → Replace…')
    expect(refused).not_to_contain_text("nodepipe env remove")
    expect(node(page, "lib")).to_be_visible()
    assert ws.nodes.path(lib.id).is_dir()


SLASH = f"it contains a slash; a name has {NAME_RULE}"


def test_a_tag_the_server_refuses_is_said_beside_it_and_the_new_node_dialog_keeps_it(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    page.goto(served.link)
    expect(node(page, "load")).to_be_visible()
    page.get_by_test_id("new-node").click()
    dialog = page.get_by_test_id("dialog")
    tag = dialog.locator('input[name="dialog-tag"]')
    problem = dialog.get_by_test_id("dialog-tag-problem")

    # taken: the dialog stays, with the tag typed, the server's reason beside the field
    tag.fill("load")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem).to_contain_text("the pipeline already has a node tagged 'load'")
    expect(problem).to_contain_text("choose another tag")
    expect(tag).to_have_value("load")
    expect(tag).to_be_focused()
    expect(tag).to_have_attribute("aria-invalid", "true")
    expect(tag).to_have_attribute("aria-describedby", "dialog-tag-problem")

    # invalid: said in a user's words, never with the request's field name before it
    tag.fill("raw/2024")
    expect(problem).to_have_count(0)  # what was said was about the tag typed before
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem).to_have_text(f"invalid tag 'raw/2024': {SLASH}")
    expect(tag).to_have_value("raw/2024")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)  # said in the dialog only
    assert [n.tag for n in ws.nodes.list("baseline")] == ["load"]

    tag.fill("raw-2024")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0)
    expect(node(page, "raw-2024")).to_be_visible()
    assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["load", "raw-2024"]


def test_a_node_rename_or_notes_the_server_refuses_is_said_beside_the_field_in_the_panel(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    ws.nodes.new("baseline", "plot")
    page.goto(served.link)
    panel = open_panel(page, "load")
    tag = panel.locator('input[name="tag"]')
    problem = panel.get_by_test_id("overview-tag-problem")

    # a sentence without the request's field name, beside the Tag field, never a toast
    tag.fill("raw/2024")
    panel.get_by_role("button", name="Rename").click()
    expect(problem).to_have_text(f"invalid tag 'raw/2024': {SLASH}")
    expect_refused(tag, "overview-tag-problem", "raw/2024")
    tag.fill("plot")
    expect(problem).to_have_count(0)  # what was said was about the tag typed before
    panel.get_by_role("button", name="Rename").click()
    expect(problem).to_contain_text("the pipeline already has a node tagged 'plot'")
    expect_refused(tag, "overview-tag-problem", "plot")
    shoot(page, "panel-rename-refused.png")
    assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["load", "plot"]

    # notes refused (the pipeline was locked meanwhile): said beside them, the text kept
    ws.pipelines.lock("baseline")
    notes = panel.locator('textarea[name="notes"]')
    notes.fill("raw rows, unfiltered")
    panel.get_by_role("button", name="Save notes").click()
    said = panel.get_by_test_id("overview-notes-problem")
    expect(said).to_contain_text("pipeline 'baseline' is locked (read-only)")
    expect(said).to_contain_text('right-click pipeline "baseline" in the sidebar → Unlock')
    expect_refused(notes, "overview-notes-problem", "raw rows, unfiltered")
    assert ws.nodes.get("load").notes == ""


def expect_refused(field: Locator, problem: str, typed: str) -> None:
    """The field still holds what was typed, has the focus, and is marked invalid and described
    by what was said against it (an alert); no toast said it instead."""
    expect(field).to_have_value(typed)
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", problem)
    expect(field.page.locator(f"#{problem}")).to_have_attribute("role", "alert")
    expect(field.page.locator("[data-sonner-toast]")).to_have_count(0)


def in_dialog(page: Page, label: str) -> Locator:
    """The open dialog's text field labelled ``label``."""
    return page.get_by_test_id("dialog").get_by_role("textbox", name=re.compile(f"^{label}"))


def refused_in_dialog(page: Page, label: str, typed: str, said: str) -> None:
    """Type ``typed`` in the open dialog's field ``label`` and confirm: the dialog stays open
    with it, ``said`` beside the field."""
    dialog = page.get_by_test_id("dialog")
    box = in_dialog(page, label)
    box.fill(typed)
    dialog.get_by_test_id("dialog-confirm").click()
    problem = dialog.get_by_role("alert")
    expect(problem).to_contain_text(said)
    expect_refused(box, str(problem.get_attribute("id")), typed)


def accepted_in_dialog(page: Page, label: str, typed: str) -> None:
    in_dialog(page, label).fill(typed)
    page.get_by_test_id("dialog-confirm").click()
    expect(page.get_by_test_id("dialog")).to_have_count(0)


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / name)


def pipeline_menu(page: Page, tag: str, item: str) -> None:
    page.locator(f'[data-testid="pipeline-item"][data-tag="{tag}"]').click(button="right")
    menu_item(page, item).click()


def test_new_pipeline_and_rename_keep_a_refused_tag_in_the_dialog_beside_its_field(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.pipelines.new("second", project="climate")
    page.goto(served.link)
    page.get_by_test_id("new-pipeline").click()
    dialog = page.get_by_test_id("dialog")
    in_dialog(page, "Notes").fill("a second try")
    refused_in_dialog(page, "Tag", "second", "a pipeline tagged 'second' already exists")
    expect(in_dialog(page, "Notes")).to_have_value("a second try")
    expect_accessible(page, "the New pipeline dialog showing a refused tag")
    shoot(page, "new-pipeline-refused.png")
    refused_in_dialog(page, "Tag", "b/2024", f"invalid tag 'b/2024': {SLASH}")
    accepted_in_dialog(page, "Tag", "third")
    expect(page.locator(".toolbar-title")).to_contain_text("third")
    assert ws.pipelines.get("third").notes == "a second try"

    pipeline_menu(page, "third", "Rename…")
    refused_in_dialog(page, "Tag", "second", "a pipeline tagged 'second' already exists")
    shoot(page, "rename-pipeline-refused.png")
    accepted_in_dialog(page, "Tag", "fourth")
    expect(page.locator('[data-testid="pipeline-item"][data-tag="fourth"]')).to_be_visible()
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "fourth", "second"]

    # notes refused (the pipeline was locked): said in the dialog, which keeps them
    ws.pipelines.lock("fourth")
    pipeline_menu(page, "fourth", "Notes…")
    in_dialog(page, "Notes").fill("kept")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog.get_by_test_id("dialog-problem")).to_contain_text("is locked (read-only)")
    expect(in_dialog(page, "Notes")).to_have_value("kept")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    assert ws.pipelines.get("fourth").notes == "a second try"


def test_new_project_and_rename_keep_a_refused_name_in_the_dialog_beside_its_field(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    page.goto(served.link)
    page.get_by_test_id("new-project").click()
    refused_in_dialog(page, "Name", "climate", "a project named 'climate' already exists")
    expect_accessible(page, "the New project dialog showing a refused name")
    shoot(page, "new-project-refused.png")
    accepted_in_dialog(page, "Name", "ocean")
    page.get_by_role("button", name="actions of project ocean").click()
    menu_item(page, "Rename…").click()
    refused_in_dialog(page, "Name", "climate", "a project named 'climate' already exists")
    refused_in_dialog(page, "Name", "sea/deep", f"invalid name 'sea/deep': {SLASH}")
    shoot(page, "rename-project-refused.png")
    accepted_in_dialog(page, "Name", "sea")
    expect(page.get_by_role("button", name="actions of project sea")).to_be_visible()
    assert sorted(p.name for p in ws.projects.list()) == ["climate", "default", "sea"]


def test_group_and_rename_group_keep_a_refused_name_in_the_dialog_beside_its_field(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.groups.new("baseline", "prep", ["load"])
    page.goto(served.link)
    right_click(page, "plot").get_by_role("menuitem", name="Group…", exact=True).click()
    refused_in_dialog(page, "Group name", "prep", "pipeline 'baseline' already has a group 'prep'")
    accepted_in_dialog(page, "Group name", "show")
    expect(page.get_by_test_id("group-frame")).to_have_count(2)

    frame = page.get_by_test_id("group-frame").filter(has_text="prep")
    frame.locator(".group-label").click(button="right")
    menu_item(page, "Rename…").click()
    refused_in_dialog(page, "Name", "show", "pipeline 'baseline' already has a group 'show'")
    shoot(page, "rename-group-refused.png")
    accepted_in_dialog(page, "Name", "inputs")
    expect(page.get_by_test_id("group-frame").filter(has_text="inputs")).to_be_visible()
    assert sorted(g.name for g in ws.groups.list("baseline")) == ["inputs", "show"]


TAKEN = "a pipeline tagged 'second' already exists"


def test_copies_keep_a_refused_tag_in_their_dialog_until_the_job_can_start(
    page: Page, served: Served
) -> None:
    """Duplicate…, Merge with…, Branch pipeline from here… and a node's Duplicate… copy in a
    background job: the server checks the tag before it starts, so the dialog keeps it."""
    ws = served.workspace
    add_nodes(ws, "baseline", CHAIN)
    ws.pipelines.new("second", project="climate")
    page.goto(served.link)
    expect(node(page, "plot")).to_be_visible()

    pipeline_menu(page, "baseline", "Duplicate…")
    refused_in_dialog(page, "New tag", "second", TAKEN)
    refused_in_dialog(page, "New tag", "b/2024", f"invalid tag 'b/2024': {SLASH}")
    page.keyboard.press("Escape")
    pipeline_menu(page, "baseline", "Merge with…")
    expect(page.get_by_test_id("dialog").locator("select")).to_have_value(
        ws.pipelines.get("second").id
    )
    refused_in_dialog(page, "New tag", "second", TAKEN)
    expect_accessible(page, "the Merge dialog showing a refused tag")
    shoot(page, "merge-refused.png")
    page.keyboard.press("Escape")

    right_click(page, "plot").get_by_role("menuitem", name="Duplicate…", exact=True).click()
    said = "the pipeline already has a node tagged 'load'"
    refused_in_dialog(page, "Tag of the copy", "load", said)
    accepted_in_dialog(page, "Tag of the copy", "plot-2")
    expect(node(page, "plot-2")).to_be_visible()  # the job ran once the dialog closed

    right_click(page, "clean").get_by_role("menuitem", name="Branch pipeline from here…").click()
    refused_in_dialog(page, "New pipeline tag", "second", TAKEN)
    accepted_in_dialog(page, "New pipeline tag", "variant")
    expect(page.locator(".toolbar-title")).to_contain_text("variant")  # made and opened
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "second", "variant"]
    assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["clean", "load", "plot", "plot-2"]


def test_python_version_keeps_a_python_not_installed_in_the_dialog_beside_it(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "quick")
    before = ws.envs.show("quick").python_request
    page.goto(served.link)
    panel = open_panel(page, "quick", "Environment")
    panel.get_by_role("button", name="change", exact=True).click()
    said = "no Python 3.99 is installed here, and nodepipe never downloads interpreters"
    refused_in_dialog(page, "An installed Python", "3.99", said)
    refused_in_dialog(page, "An installed Python", "three", "expected a Python version request")
    expect_accessible(page, "the Python version dialog showing a refused version")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("dialog")).to_have_count(0)
    assert ws.envs.show("quick").python_request == before


def test_restore_as_new_node_keeps_a_refused_tag_in_the_dialog(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "quick")
    ws.nodes.new("baseline", "other")
    ws.runs.run(RunRequest("baseline", only=["quick"]))
    page.goto(served.link)
    expect(node(page, "quick")).to_be_visible()
    page.evaluate("location.hash = '#pipeline=baseline&view=runs'")
    entry = page.get_by_test_id("run-environment")
    entry.locator("summary").click()
    entry.get_by_role("button", name="Restore as new node…").click()
    said = "the pipeline already has a node tagged 'other'"
    refused_in_dialog(page, "Tag of the new node", "other", said)
    refused_in_dialog(page, "Tag of the new node", "q/2", f"invalid tag 'q/2': {SLASH}")
    accepted_in_dialog(page, "Tag of the new node", "quick-then")
    expect(page.locator("[data-sonner-toast]", has_text="restored quick-then")).to_be_visible()
    assert sorted(n.tag for n in ws.nodes.list("baseline")) == ["other", "quick", "quick-then"]


def test_new_and_rename_of_a_code_file_keep_a_refused_path_in_the_dialog(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    code = ws.nodes.path("train") / "code"
    (code / "helpers.py").write_text("X = 1\n")
    (code / "other.py").write_text("Y = 2\n")
    page.goto(served.link)
    panel = open_panel(page, "train", "Code")
    expect(panel.get_by_test_id("code-file-select")).to_have_value("main.py")

    panel.get_by_role("button", name="New file…").click()
    label = "Path inside code"
    refused_in_dialog(page, label, "helpers.py", "helpers.py already exists")
    refused_in_dialog(page, label, "main.py/x.py", "a file stands where a folder would be")
    refused_in_dialog(page, label, "uv.lock", "is written by nodepipe")
    expect_accessible(page, "the New code file dialog showing a refused path")
    accepted_in_dialog(page, label, "lib/io.py")
    expect(panel.get_by_test_id("code-file-select")).to_have_value("lib/io.py")
    assert not (code / "lib").exists()  # nothing written until it is saved

    panel.get_by_test_id("code-file-select").select_option("helpers.py")
    panel.get_by_test_id("code-rename").click()
    label = "New path inside code"
    refused_in_dialog(page, label, "other.py", "other.py already exists")
    refused_in_dialog(page, label, "main.py", "main.py is what the node runs")
    accepted_in_dialog(page, label, "tools.py")
    expect(panel.get_by_test_id("code-file-select")).to_have_value("tools.py")
    assert (code / "tools.py").read_text() == "X = 1\n" and not (code / "helpers.py").exists()
    assert (code / "other.py").read_text() == "Y = 2\n"


def test_import_bundle_keeps_a_refused_tag_in_its_dialog_until_the_import_can_start(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """The server checks the bundle and the tag before the import's job starts: a tag taken
    (the bundle's own, when none is typed) or invalid is said beside the field."""
    ws = served.workspace
    ws.nodes.new("baseline", "load")
    ws.bundles.export("baseline", tmp_path / "exported")
    archive = shutil.make_archive(str(tmp_path / "baseline"), "zip", tmp_path / "exported")
    page.goto(served.link)
    expect(node(page, "load")).to_be_visible()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("import-bundle").click()
    chooser.value.set_files(archive)
    refused_in_dialog(page, "Tag", "", TAKEN.replace("second", "baseline"))
    refused_in_dialog(page, "Tag", "b/2024", f"invalid name 'b/2024': {SLASH}")
    expect_accessible(page, "the Import bundle dialog showing a refused tag")
    assert [p.tag for p in ws.pipelines.list()] == ["baseline"]
    accepted_in_dialog(page, "Tag", "copied")
    imported = page.locator("[data-sonner-toast]", has_text="imported pipeline 'copied'")
    expect(imported).to_be_visible(timeout=60_000)
    expect(page.locator(".toolbar-title")).to_contain_text("copied")  # made and opened
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "copied"]


def test_new_and_edited_shared_environments_keep_a_refused_name_or_package_in_the_dialog(
    page: Page, served: Served
) -> None:
    """The name and the packages are checked before uv locks in the job: each refusal is said
    beside its field, the dialog open with what was typed."""
    ws = served.workspace
    ws.shared_envs.new("tools")
    page.goto(served.link)
    sidebar_item = page.locator("li", has_text="tools")
    expect(sidebar_item).to_be_visible()
    page.get_by_role("button", name="New shared environment").click()
    dialog = page.get_by_test_id("dialog")
    packages = dialog.get_by_role("textbox", name="Packages")
    in_dialog(page, "Name").fill("tools")
    packages.fill("toypkg\nnumpy>>1")
    dialog.get_by_test_id("dialog-confirm").click()
    said = dialog.get_by_test_id("dialog-packages-problem")
    expect(said).to_contain_text("invalid requirement 'numpy>>1'")
    expect_refused(packages, "dialog-packages-problem", "toypkg\nnumpy>>1")
    packages.fill("")
    refused_in_dialog(page, "Name", "tools", "the shared environment 'tools' already exists")
    refused_in_dialog(page, "Name", "a/b", f"invalid name 'a/b': {SLASH}")
    expect_accessible(page, "the New shared environment dialog showing a refused name")
    accepted_in_dialog(page, "Name", "other")
    # made by a background job (uv locks it): "another" in some list item is not it
    wait_for(lambda: ws.shared_envs.list() == ["other", "tools"], "the environment 'other'", 60)
    expect(page.locator("li", has_text=re.compile(r"\bother\b"))).to_be_visible(timeout=60_000)

    sidebar_item.click()
    expect(dialog).to_contain_text("Shared environment tools")
    add = dialog.get_by_role("textbox", name="Add")
    add.fill("numpy>>1")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog.get_by_test_id("dialog-packages-problem")).to_contain_text(
        "invalid requirement 'numpy>>1'"
    )
    expect_refused(add, "dialog-packages-problem", "numpy>>1")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert ws.shared_envs.show("tools").direct == ()


@pytest.fixture
def offline_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Pipeline ``baseline`` of nodes ``load`` and ``clean``, served by a server whose uv finds
    packages only in a folder of toy wheels (toypkg 1.0 and 2.0, otherpkg 0.1), never online."""
    monkeypatch.setenv("UV_FIND_LINKS", str(toy_index(tmp_path / "wheels")))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    for tag in ("load", "clean"):
        ws.nodes.new("baseline", tag)
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


def test_base_packages_keeps_a_refused_change_in_its_dialog(
    page: Page, offline_served: Served
) -> None:
    """A package or version no index has (uv finds it out in the job), a package the base no
    longer has, a locked pipeline: each is said in the dialog in the app's words, what was
    typed kept, nothing changed; the dialog closes once every node has the change."""
    ws = offline_served.workspace
    ws.base_envs.add("baseline", ["otherpkg"])
    page.goto(offline_served.link)
    expect(node(page, "load")).to_be_visible()
    pipeline_menu(page, "baseline", "Base packages…")
    dialog = page.get_by_role("dialog", name="Base packages of baseline")
    add = dialog.get_by_role("textbox", name=re.compile("^Add"))
    remove = dialog.get_by_role("combobox", name="Remove")
    confirm = dialog.get_by_test_id("dialog-confirm")
    for typed, named in [
        ("toypkg==9.9", "toypkg==9.9"),
        (f"toypkg\n{MISSING}", f"toypkg, {MISSING}"),
    ]:
        add.fill(typed)
        confirm.click()
        said = dialog.get_by_test_id("dialog-packages-problem")
        words = f"a package or version asked for does not exist (could not add {named} to node "
        expect(said).to_contain_text(words, timeout=60_000)
        expect_refused(add, "dialog-packages-problem", typed)
    details = dialog.get_by_test_id("dialog-details")
    expect(details.locator("pre")).to_be_hidden()  # uv's own text waits behind the disclosure
    details.get_by_text("Details").click()
    expect(details.locator("pre")).to_contain_text(MISSING)
    expect_accessible(page, "the Base packages dialog showing a package no index has")
    assert ws.base_envs.show("baseline") == ("otherpkg",)
    assert "toypkg" not in ws.envs.show("load").locked

    ws.base_envs.remove("baseline", ["otherpkg"])  # behind the open dialog's back
    add.fill("")
    remove.select_option("otherpkg")
    confirm.click()
    said = "pipeline 'baseline' has no base package otherpkg: its base packages are none"
    expect(dialog.get_by_test_id("dialog-remove-problem")).to_have_text(said)
    expect_refused(remove, "dialog-remove-problem", "otherpkg")

    ws.pipelines.lock("baseline")
    remove.select_option("")
    add.fill("toypkg==1.0")
    confirm.click()
    locked = dialog.get_by_test_id("dialog-problem")
    expect(locked).to_contain_text("pipeline 'baseline' is locked")
    expect(locked).to_contain_text('unlock it: right-click pipeline "baseline" in the sidebar')
    expect(locked).not_to_contain_text("nodepipe ")  # a menu item, never a command
    expect(add).to_have_value("toypkg==1.0")
    assert ws.base_envs.show("baseline") == ()

    ws.pipelines.unlock("baseline")
    confirm.click()
    expect(dialog).to_have_count(0, timeout=60_000)
    done = page.locator("[data-sonner-toast]", has_text="baseline: base packages toypkg==1.0")
    expect(done).to_be_visible()
    assert ws.base_envs.show("baseline") == ("toypkg==1.0",)
    assert ws.envs.show("clean").locked["toypkg"] == "1.0"

    # cancelled before its job ends, the job goes on and its failure is not lost: a toast
    pipeline_menu(page, "baseline", "Base packages…")
    add.fill("toypkg==9.9")
    dialog.evaluate(
        "dialog => { dialog.querySelector('[data-testid=dialog-confirm]').click();"
        " dialog.querySelector('button[type=button]').click(); }"
    )
    expect(dialog).to_have_count(0)
    failed = page.locator("[data-sonner-toast][data-type='error']")
    expect(failed).to_contain_text("could not add toypkg==9.9 to node", timeout=60_000)
    assert ws.base_envs.show("baseline") == ("toypkg==1.0",)
