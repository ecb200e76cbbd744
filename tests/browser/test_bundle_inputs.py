"""Bundle inputs and library packages in the web app, as the CLI has them: the pipeline menu
shows, declares and clears the pipeline's bundle inputs (``bundle export --input`` /
``--no-inputs``); Include package… reads a package's inputs and feeds each from a node of the
pipeline chosen by tag (``package pull --into --input``); a node's menu builds it as a library
(``package build --library``). A refusal keeps the dialog open, said beside its field."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

import nodepipe
from api.live import server_process
from browser.canvas import menu_item, node, right_click
from browser.conftest import Served
from support.package_index import PackageIndex, offline_env

SHOTS = Path(os.environ.get("NODEPIPE_SHOTS", "/work/scratch/h7-shots"))


@pytest.fixture
def chain_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Pipeline ``baseline`` (load → clean, and spare) served by a server that reaches only
    loopback."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    for tag in ("load", "clean", "spare"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png")


def toast(page: Page, text: str) -> None:
    expect(page.locator("[data-sonner-toast]", has_text=text).first).to_be_visible(timeout=90_000)


def opened(page: Page, served: Served) -> None:
    page.goto(served.link)
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click()
    expect(node(page, "clean")).to_be_visible()


def pipeline_menu(page: Page, item: str) -> Locator:
    page.locator('[data-testid="pipeline-item"][data-tag="baseline"]').click(button="right")
    menu_item(page, item).click()
    dialog = page.get_by_test_id("dialog")
    expect(dialog).to_be_visible()
    return dialog


def field(dialog: Locator, name: str) -> Locator:
    return dialog.locator(f'[name="dialog-{name}"]')


def problem(dialog: Locator, name: str) -> Locator:
    return dialog.get_by_test_id(f"dialog-{name}-problem")


def test_the_pipeline_menu_shows_declares_and_clears_bundle_inputs(
    page: Page, chain_served: Served
) -> None:
    ws = chain_served.workspace
    load = ws.nodes.get("load", "baseline").id
    opened(page, chain_served)

    dialog = pipeline_menu(page, "Bundle inputs…")
    expect(dialog).to_contain_text("The pipeline declares no inputs.")
    field(dialog, "name").fill("a/b")
    field(dialog, "node").select_option(label="load")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem(dialog, "name")).to_contain_text("'a/b'")
    field(dialog, "name").fill("01")
    field(dialog, "node").select_option(label="clean")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog.get_by_test_id("dialog-problem")).to_contain_text(
        "clean already reads slot '01' from load"
    )
    assert ws.pipelines.show("baseline").declared_inputs == {}
    field(dialog, "name").fill("raw")
    field(dialog, "node").select_option(label="load")
    shot(page, "bundle-inputs-declare")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_be_hidden()
    toast(page, "Saved the bundle inputs of baseline")
    assert ws.pipelines.show("baseline").declared_inputs == {"raw": (load,)}

    dialog = pipeline_menu(page, "Bundle inputs…")
    expect(dialog).to_contain_text("Declared: raw: taken by load.")
    keep = field(dialog, "keep.raw")
    expect(keep).to_be_checked()
    shot(page, "bundle-inputs-declared")
    keep.uncheck()
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_be_hidden()
    assert ws.pipelines.show("baseline").declared_inputs == {}


@pytest.fixture
def package_url(chain_served: Served, index: PackageIndex) -> str:
    """A package (np-feat 1.0) of a pipeline ``feat`` whose node ``scale`` takes input ``raw``,
    served over http by a real index server."""
    ws = chain_served.workspace
    ws.pipelines.new("feat")
    ws.nodes.new("feat", "scale")
    ws.bundles.declare_inputs("feat", {"raw": ["scale"]})
    built = ws.packages.build("feat", alias="np-feat", version="1.0", destination=index.root)
    shutil.copy(built.wheel, index.packages / built.wheel.name)
    return f"{index.url}packages/{built.wheel.name}"


def test_include_package_feeds_each_input_from_a_node_chosen_by_tag(
    page: Page, chain_served: Served, package_url: str
) -> None:
    ws = chain_served.workspace
    opened(page, chain_served)

    dialog = pipeline_menu(page, "Include package…")
    field(dialog, "source").fill(str(ws.root / "nodepipe.toml"))
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog.get_by_test_id("dialog-problem")).to_contain_text("is a file on the server")
    field(dialog, "source").fill(package_url)
    dialog.get_by_test_id("dialog-confirm").click()

    dialog = page.get_by_test_id("dialog")
    expect(dialog).to_contain_text("Include np-feat==1.0")
    expect(dialog).to_contain_text("needs an input fed by nodes of baseline")
    expect(field(dialog, "namespace")).to_have_value("feat")
    feed = field(dialog, "inputs.raw")
    expect(feed.locator("option")).to_have_text(["(choose a node)", "clean", "load", "spare"])
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem(dialog, "inputs.raw")).to_have_text("choose the node that feeds it")
    feed.select_option(label="spare")
    ws.nodes.delete(["spare"], "baseline")  # gone before the include is sent: the server says
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem(dialog, "inputs.raw")).to_contain_text("input 'raw': ")
    expect(problem(dialog, "inputs.raw")).to_contain_text(
        "pipeline menu → Include package… (Input raw)"
    )
    shot(page, "include-package-refused")
    feed.select_option(label="clean")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_be_hidden()
    toast(page, f"included {package_url} in pipeline 'baseline' as feat")
    expect(node(page, "feat.scale")).to_be_visible()
    shot(page, "include-package-done")
    view = ws.pipelines.show("baseline")
    tags = {item.node.id: item.node.tag for item in view.nodes}
    assert ("clean", "feat.scale", "raw") in {
        (tags[e.parent_id], tags[e.child_id], e.slot) for e in view.edges
    }


def test_a_node_menu_builds_it_as_a_library_package(page: Page, chain_served: Served) -> None:
    ws = chain_served.workspace
    opened(page, chain_served)
    right_click(page, "clean")
    menu_item(page, "Build library package…").click()
    dialog = page.get_by_test_id("dialog")
    field(dialog, "alias").fill("-bad")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(problem(dialog, "alias")).to_contain_text("'-bad' is not a valid package name")
    expect(problem(dialog, "alias")).to_contain_text(
        'right-click node "clean" → Build library package… (Name)'
    )
    shot(page, "library-package-refused")
    assert not (ws.root / "dist").exists()
    field(dialog, "alias").fill("np-clean")
    field(dialog, "version").fill("1.2")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_be_hidden()
    toast(page, "built np_clean-1.2-py3-none-any.whl and np_clean-1.2.tar.gz")
    shot(page, "library-package-built")
    built = sorted(p.name for p in (ws.root / "dist").iterdir())
    assert built == ["np_clean-1.2-py3-none-any.whl", "np_clean-1.2.tar.gz"]
