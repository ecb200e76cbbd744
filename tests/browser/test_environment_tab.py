"""The Environment tab does what the CLI does for external code (issue 14, audit finding F10):
a library node picked from the pipeline's nodes (its edits turn the user's card stale, with the
reason), code paths listed, added and removed (a refused folder told in the app's words), and a
node moved onto a shared environment, an interpreter (shown as not isolated) and back to its own
environment, each behind a confirmation naming what changes; a folder or an interpreter the
server refuses is said in the dialog beside what was typed."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

import nodepipe
from api.live import server_process
from browser.accessibility import expect_accessible
from browser.canvas import expect_state, node, open_panel
from browser.conftest import ARTIFACTS, Served
from nodepipe.services.runs.service import RunRequest
from support.other_user import OtherUser
from support.wheels import local_project


@pytest.fixture
def env_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """Pipeline ``baseline``: load → clean, and node ``lib`` holding package ``mylib`` in
    ``code/mylib``; served by a server whose uv never goes online."""
    monkeypatch.setenv("UV_OFFLINE", "1")
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    for tag in ("load", "clean", "lib"):
        ws.nodes.new("baseline", tag)
    ws.edges.connect("load", "clean", "baseline")
    local_project(ws.nodes.path("lib") / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


def open_environment(page: Page, tag: str) -> Locator:
    tab = open_panel(page, tag, "Environment").get_by_test_id("environment")
    expect(tab).to_contain_text("Python")
    return tab


def toast(page: Page, text: str) -> Locator:
    shown = page.locator("[data-sonner-toast]", has_text=text).first
    expect(shown).to_be_visible(timeout=90_000)
    return shown


def answer_dialog(page: Page, title: str, values: dict[str, str]) -> None:
    """Fill the open dialog called ``title`` (text fields filled, selects chosen by label) and
    confirm it."""
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog).to_be_visible()
    for name, value in values.items():
        field = dialog.locator(f'[name="dialog-{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0)


def confirm_change(page: Page, *named: str) -> None:
    """The confirmation of an isolation move: it names each of ``named``; confirmed."""
    dialog = page.get_by_test_id("dialog")
    for text in named:
        expect(dialog).to_contain_text(text)
    dialog.get_by_test_id("dialog-confirm").click()
    expect(dialog).to_have_count(0)


def test_a_library_node_picked_in_the_tab_links_its_package(page: Page, env_served: Served) -> None:
    ws = env_served.workspace
    page.goto(env_served.link)
    tab = open_environment(page, "clean")
    tab.get_by_label("what to add").select_option(label="library node")
    library = tab.get_by_label("library node", exact=True)
    expect(library.locator("option")).to_have_text(["lib", "load"])  # never the node itself
    library.select_option(label="load")
    tab.get_by_role("button", name="Add (lock and sync)").click()
    toast(page, "library node 'load' holds no package")
    library.select_option(label="lib")
    tab.get_by_role("button", name="Add (lock and sync)").click()
    toast(page, "clean: add library node")
    row = tab.get_by_test_id("direct-packages").locator("tr", has_text="mylib")
    expect(row).to_contain_text("library node lib")
    assert ws.envs.show("clean").origins == {"mylib": "library node lib"}
    expect_accessible(page, "the Environment tab with a library node's package")
    page.screenshot(path=ARTIFACTS / "environment-library-node.png")

    ran = ws.runs.run(RunRequest("baseline"))
    assert ran.finished is not None and ran.finished.completed == 3, ran.finished
    page.reload()  # the run was made outside the page
    expect_state(page, "clean", "completed", 30_000)
    (ws.nodes.path("lib") / "code" / "mylib" / "mylib" / "__init__.py").write_text("ANSWER = 22\n")
    expect_state(page, "clean", "stale", 30_000)  # live, without a reload
    open_panel(page, "clean", "Overview")
    reasons = page.get_by_test_id("reasons")
    expect(reasons).to_contain_text("shared code changed: mylib (mylib/__init__.py)")


def test_code_paths_are_listed_added_and_removed_and_a_refusal_is_told(
    page: Page, env_served: Served, tmp_path: Path, other: OtherUser
) -> None:
    ws = env_served.workspace
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "tools.py").write_text("X = 1\n")
    outputs = ws.nodes.path("clean") / "data" / "tables"
    outputs.mkdir(parents=True)
    foreign = other.folder("np-code-path-")
    try:
        page.goto(env_served.link)
        tab = open_environment(page, "clean")
        paths = tab.get_by_test_id("code-paths")
        expect(paths).to_contain_text("None")
        refusals = {
            str(tmp_path / "missing"): f"no file or folder at {tmp_path / 'missing'}",
            str(foreign): "belongs to",
            str(outputs): "inside the node's own folder",
        }
        # each said beside the folder typed, the dialog still open with it
        tab.get_by_role("button", name="Add code path…").click()
        dialog = page.get_by_role("dialog", name="Add code path")
        field = dialog.locator('[name="dialog-path"]')
        for folder, said in refusals.items():
            field.fill(folder)
            dialog.get_by_test_id("dialog-confirm").click()
            expect(dialog.get_by_test_id("dialog-path-problem")).to_contain_text(said)
            expect(field).to_have_value(folder)
            expect(field).to_have_attribute("aria-describedby", "dialog-path-problem")
        expect(page.locator("[data-sonner-toast]")).to_have_count(0)
        expect_accessible(page, "the Add code path dialog showing a refused folder")
        assert list(ws.envs.show("clean").code_paths) == []

        answer_dialog(page, "Add code path", {"path": str(helpers)})
        expect(paths.get_by_test_id("code-path")).to_have_text([str(helpers)])
        assert list(ws.envs.show("clean").code_paths) == [str(helpers)]
        expect_accessible(page, "the Environment tab listing a code path")
        page.screenshot(path=ARTIFACTS / "environment-code-paths.png")

        paths.get_by_role("button", name=f"Remove code path {helpers}").click()
        expect(paths.get_by_test_id("code-path")).to_have_count(0)
        assert list(ws.envs.show("clean").code_paths) == []
    finally:
        shutil.rmtree(foreign)


def test_isolation_moves_each_behind_a_confirmation_and_a_failed_move_is_shown(
    page: Page, env_served: Served, tmp_path: Path
) -> None:
    ws = env_served.workspace
    ws.shared_envs.new("tools")
    not_python = tmp_path / "not-python"
    not_python.write_text("#!/bin/sh\nexit 3\n")
    not_python.chmod(0o755)
    page.goto(env_served.link)
    tab = open_environment(page, "clean")
    isolation = tab.get_by_test_id("isolation")
    expect(isolation).to_contain_text("an environment of its own")

    isolation.get_by_role("button", name="Shared environment…").click()
    answer_dialog(page, "Move clean onto a shared environment", {"shared_env": "tools"})
    confirm_change(page, "clean", "shared environment tools", "removed")
    expect(isolation).to_contain_text("shared environment tools", timeout=60_000)
    expect(node(page, "clean").get_by_test_id("shared-env")).to_be_visible()
    assert ws.envs.show("clean").isolation == "shared:tools"

    # what the server refuses at once is said beside the path typed, the dialog still open
    isolation.get_by_role("button", name="Interpreter…").click()
    dialog = page.get_by_role("dialog", name="Run clean with an interpreter")
    expect(dialog).to_contain_text("not isolated")  # it says what changes
    field = dialog.locator('[name="dialog-interpreter"]')
    problem = dialog.get_by_test_id("dialog-interpreter-problem")
    for typed, said in [
        (str(not_python), "did not run as a Python interpreter"),
        ("python3", "give an absolute path (python3 is not one)"),
        ("", "give the interpreter's absolute path"),
    ]:
        field.fill(typed)
        dialog.get_by_test_id("dialog-confirm").click()
        expect(problem).to_contain_text(said)
        expect(field).to_have_value(typed)
        expect(field).to_be_focused()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    expect_accessible(page, "the interpreter dialog showing a refused path")
    assert ws.envs.show("clean").isolation == "shared:tools"
    answer_dialog(page, "Run clean with an interpreter", {"interpreter": sys.executable})
    expect(isolation).to_contain_text(f"not isolated: runs with {sys.executable}", timeout=60_000)
    expect(node(page, "clean").get_by_test_id("not-isolated")).to_be_visible()
    expect_accessible(page, "the Environment tab of a node that is not isolated")
    page.screenshot(path=ARTIFACTS / "environment-not-isolated.png")

    isolation.get_by_role("button", name="Own environment").click()
    confirm_change(page, "clean", "an environment of its own")
    expect(isolation).to_contain_text("an environment of its own", timeout=90_000)
    expect(node(page, "clean").get_by_test_id("not-isolated")).to_have_count(0)
    assert ws.envs.show("clean").isolation == "own"


def test_the_tab_says_both_pythons_when_the_environment_has_another(
    page: Page, env_served: Served
) -> None:
    """The tab showed only the Python the node asks for, while its environment was still on
    the one an earlier sync built it with (a sync that failed, or none since the request
    changed): now it says both, worded as `env show` says them, and again one once in step."""
    ws = env_served.workspace
    ws.runs.run(RunRequest("baseline", ["load"]))  # load's .venv, built by a sync
    config = ws.nodes.path("load") / "code" / ".venv" / "pyvenv.cfg"
    kept = config.read_text(encoding="utf-8")
    asked = ws.envs.show("load").python
    assert ws.envs.show("load").environment_python == asked
    # the environment as a sync under Python 3.9.18 left it (what the node asks for changed)
    config.write_text(
        "".join(
            "version_info = 3.9.18\n" if line.startswith("version_info") else line
            for line in kept.splitlines(keepends=True)
        ),
        encoding="utf-8",
    )
    page.goto(env_served.link)
    python = open_environment(page, "load").get_by_test_id("environment-python")
    expect(python).to_contain_text(f"asks for Python {asked}; its environment has 3.9.18")
    expect(page.get_by_test_id("environment-warning")).to_contain_text(
        f"its environment has Python 3.9.18, not the {asked} it asks for"
    )
    page.screenshot(path=ARTIFACTS / "environment-two-pythons.png")
    config.write_text(kept, encoding="utf-8")  # in step again: one Python, said once
    page.reload()
    python = open_environment(page, "load").get_by_test_id("environment-python")
    expect(python).to_contain_text(asked)
    expect(python).not_to_contain_text("its environment has")
