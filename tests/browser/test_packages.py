"""Packages in the web app: a pipeline's menu builds it, publishes it to a real index (a wrong
password refused in the app's words, naming the menu item) and pulls it back by name as a new
pipeline that opens; a node installing a folder from outside is refused with the menu item of
the fix (a snapshot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import nodepipe
from api.live import server_process
from browser.canvas import menu_item, node
from browser.conftest import ARTIFACTS, Served
from support.package_index import PASSWORD, USER, PackageIndex, offline_env
from support.wheels import local_project


@pytest.fixture
def offline_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: PackageIndex
) -> Iterator[Served]:
    """Pipeline ``baseline`` (load → clean) served by a server that reaches only loopback."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    for name in ("TWINE_USERNAME", "TWINE_PASSWORD", "UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pypirc of the machine's
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    for tag in ("load", "clean"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


def toast(page: Page, text: str) -> None:
    expect(page.locator("[data-sonner-toast]", has_text=text).first).to_be_visible(timeout=90_000)


def open_menu_item(page: Page, item: str) -> None:
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click(button="right")
    menu_item(page, item).click()


def fill(page: Page, values: dict[str, str]) -> None:
    dialog = page.get_by_test_id("dialog")
    for name, value in values.items():
        dialog.locator(f'[name="dialog-{name}"]').fill(value)
    dialog.get_by_test_id("dialog-confirm").click()


def test_build_publish_and_pull_from_the_pipeline_menu(
    page: Page, offline_served: Served, index: PackageIndex
) -> None:
    ws = offline_served.workspace
    page.goto(offline_served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    expect(node(page, "clean")).to_be_visible()

    open_menu_item(page, "Build package…")
    fill(page, {"alias": "np-base", "version": "1.0"})
    toast(page, "built np_base-1.0-py2.py3-none-any.whl and np_base-1.0.tar.gz")

    open_menu_item(page, "Publish package…")
    dialog = page.get_by_test_id("dialog")
    expect(dialog.locator('[name="dialog-password"]')).to_have_attribute("type", "password")
    fill(page, {"url": index.url, "username": USER, "password": "wrong"})
    toast(page, "enter a username and password the index accepts: pipeline menu → Publish package…")
    assert index.files() == []
    open_menu_item(page, "Publish package…")
    fill(page, {"url": index.url, "username": USER, "password": PASSWORD})
    toast(page, f"uploaded 2 to {index.url}")
    assert index.files() == ["np_base-1.0-py2.py3-none-any.whl", "np_base-1.0.tar.gz"]

    open_menu_item(page, "Pull package…")
    fill(page, {"source": "np-base==1.0", "index": index.simple_url, "alias": "pulled"})
    toast(page, "pulled np-base==1.0 as pipeline 'pulled' (2 nodes)")
    expect(page.locator(".toolbar-title")).to_contain_text("pulled")
    expect(node(page, "clean")).to_be_visible()
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "pulled"]
    page.screenshot(path=ARTIFACTS / "package-pulled.png")


def test_pull_package_uploads_a_file_from_the_users_machine(
    page: Page, offline_served: Served, tmp_path: Path
) -> None:
    ws = offline_served.workspace
    built = ws.packages.build("baseline", alias="np-up", version="2.0", destination=tmp_path)
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"this is no zip")
    page.goto(offline_served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    expect(node(page, "clean")).to_be_visible()

    open_menu_item(page, "Pull package…")
    dialog = page.get_by_test_id("dialog")
    expect(dialog.locator('[name="dialog-file"]')).to_have_attribute("accept", ".whl,.tar.gz,.tgz")
    dialog.locator('[name="dialog-file"]').set_input_files(junk)
    fill(page, {"alias": "junk"})
    toast(page, "pipeline menu → Pull package… (Package file)")
    assert [p.tag for p in ws.pipelines.list()] == ["baseline"]

    open_menu_item(page, "Pull package…")
    page.get_by_test_id("dialog").locator('[name="dialog-file"]').set_input_files(built.wheel)
    page.screenshot(path=ARTIFACTS / "package-pull-file.png")
    fill(page, {"alias": "uploaded"})
    toast(page, f"pulled {built.wheel.name} as pipeline 'uploaded' (2 nodes)")
    expect(page.locator(".toolbar-title")).to_contain_text("uploaded")
    expect(node(page, "clean")).to_be_visible()
    assert sorted(p.tag for p in ws.pipelines.list()) == ["baseline", "uploaded"]
    assert list(ws.context.layout.staging_dir.iterdir()) == [], "the upload outlived its job"
    page.screenshot(path=ARTIFACTS / "package-uploaded.png")


def test_build_package_refuses_a_node_installing_a_folder_from_outside_naming_the_fix(
    page: Page, offline_served: Served, tmp_path: Path
) -> None:
    ws = offline_served.workspace
    tool = local_project(tmp_path / "outside" / "tool", "outtool", "0.1", "X = 1\n")
    ws.envs.add("clean", [], path=str(tool))
    page.goto(offline_served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    expect(node(page, "clean")).to_be_visible()
    open_menu_item(page, "Build package…")
    fill(page, {"alias": "np-out", "version": "1.0"})
    toast(page, "node 'clean' installs from outside the nodes exported with it")
    toast(
        page,
        'select node "clean" → Environment → snapshot (copied, editable) → Add (lock and sync), '
        "then export or build again",
    )
    assert not (ws.root / "dist").exists()
