"""Bundles in the web app: a pipeline exported as a .zip download and imported by upload; a
file that is no zip refused in the app's words; an include's group updated from its menu, the
removals confirmed in its dialog, which lists them beside the checkbox confirming them."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.canvas import menu_item, node
from browser.conftest import ARTIFACTS, Served
from support.locked_bundles import (
    alpha_including_features,
    features_toml,
)


def toast(page: Page, text: str) -> None:
    expect(page.locator("[data-sonner-toast]", has_text=text).first).to_be_visible(timeout=60_000)


def pipeline_item(page: Page, tag: str) -> None:
    page.locator(f'[data-testid="pipeline-item"][data-tag="{tag}"]').click(button="right")


def upload(page: Page, archive: Path, tag: str | None = None) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("import-bundle").click()
    chooser.value.set_files(str(archive))
    dialog = page.get_by_test_id("dialog")
    if tag is not None:
        dialog.locator("input").fill(tag)
    dialog.get_by_test_id("dialog-confirm").click()


def test_a_pipeline_is_exported_as_a_zip_and_imported_back(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    for tag in ("load", "clean"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    page.goto(served.link)
    expect(node(page, "clean")).to_be_visible()

    pipeline_item(page, "baseline")
    with page.expect_download() as download:
        menu_item(page, "Export bundle (.zip)").click()
    assert download.value.suggested_filename == "baseline.zip"
    archive = tmp_path / "baseline.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as opened:
        names = set(opened.namelist())
    assert {"pipeline.toml", "pipeline.lock", "nodes/load/code/main.py"} <= names

    not_a_zip = tmp_path / "notes.zip"
    not_a_zip.write_text("not a zip")
    upload(page, not_a_zip)  # said in the dialog, which stays open
    dialog = page.get_by_test_id("dialog")
    expect(dialog.get_by_test_id("dialog-problem")).to_contain_text("not a zip archive")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    upload(page, archive, "copied")
    toast(page, "imported pipeline 'copied' (2 nodes)")
    expect(page.locator(".toolbar-title")).to_contain_text("copied")
    expect(node(page, "clean")).to_be_visible()
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "copied"]
    page.screenshot(path=ARTIFACTS / "bundle-imported.png")


def test_an_include_is_updated_from_its_group_menu(
    page: Page, served: Served, tmp_path: Path
) -> None:
    ws = served.workspace
    features, project = alpha_including_features(tmp_path, ("clean", "old"))
    ws.bundles.import_(project, project="climate")
    shutil.rmtree(features / "nodes" / "old")
    (features / "pipeline.toml").write_text(features_toml(("clean",)))

    page.goto(served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="alpha"]').click()
    expect(node(page, "features.old")).to_be_visible()
    frame = page.get_by_test_id("group-frame")
    expect(frame).to_contain_text("features")
    frame.locator(".group-label").click(button="right")
    menu_item(page, "Update include…").click()
    dialog = page.get_by_test_id("dialog")
    dialog.get_by_test_id("dialog-confirm").click()
    # the removal is said beside the checkbox that confirms it; nothing changed yet
    expect(dialog.get_by_test_id("dialog-confirm_removals-problem")).to_contain_text("features.old")
    assert "features.old" in {item.node.tag for item in ws.pipelines.show("alpha").nodes}
    dialog.get_by_label("Remove them with their outputs").check()
    dialog.get_by_test_id("dialog-confirm").click()
    toast(page, "Updated include features: 1 removed")
    expect(node(page, "features.old")).to_have_count(0)
    assert "features.old" not in {item.node.tag for item in ws.pipelines.show("alpha").nodes}
