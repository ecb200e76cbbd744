"""The node's environment panel shows its conda packages (locked version, how they were asked
for, the channel), and nothing about conda for a node without any."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from browser.canvas import open_panel
from browser.conftest import Served
from support.conda_channel import conda_channel
from support.worlds import CHAIN, add_nodes


def test_the_environment_panel_lists_the_nodes_conda_packages(
    page: Page, served: Served, tmp_path: Path
) -> None:
    channel = conda_channel(tmp_path / "conda")
    add_nodes(served.workspace, "baseline", CHAIN)
    served.workspace.conda.add("clean", ["hello-tool 1.0.*"], [str(channel)])
    page.goto(served.link)
    panel = open_panel(page, "clean")
    panel.get_by_role("tab", name="Environment").click()
    table = panel.get_by_test_id("conda-packages")
    expect(table).to_contain_text("hello-tool")
    expect(table).to_contain_text("1.0")
    expect(table).to_contain_text("hello-tool 1.0.*")
    expect(panel.get_by_test_id("environment")).to_contain_text(channel.as_uri())
    open_panel(page, "load")
    panel.get_by_role("tab", name="Environment").click()
    expect(panel.get_by_test_id("environment")).to_contain_text("Python")
    expect(panel.get_by_test_id("conda-packages")).to_have_count(0)
    package = next((channel / "noarch").glob("hello-tool-1.0-*.conda"))
    served.workspace.conda.add("plot", [package.as_uri()], [str(channel)])
    open_panel(page, "plot")  # asked for by its file's URL: named after the file
    panel.get_by_role("tab", name="Environment").click()
    table = panel.get_by_test_id("conda-packages")
    expect(table).to_contain_text(package.name)
    expect(table).not_to_contain_text("(dependency)")
    expect(panel.get_by_role("button", name="Remove conda package hello-tool")).to_be_visible()


def test_conda_packages_are_added_and_removed_from_the_environment_tab(
    page: Page, served: Served, tmp_path: Path
) -> None:
    """Add a conda package from a channel typed in the tab: it is solved, locked and installed
    (a toast follows the job); an unknown one is refused in the app's words and changes
    nothing; the row's remove button takes it out again."""
    channel = conda_channel(tmp_path / "conda")
    add_nodes(served.workspace, "baseline", CHAIN)
    code = served.workspace.nodes.path("clean") / "code"
    page.goto(served.link)
    panel = open_panel(page, "clean")
    panel.get_by_role("tab", name="Environment").click()
    conda = panel.get_by_test_id("conda")
    expect(conda).to_contain_text("None.")

    conda.get_by_test_id("add-conda").fill("hello-tool 1.0.*")
    conda.get_by_test_id("conda-channels").fill(channel.as_uri())
    conda.get_by_role("button", name="Add conda packages").click()

    done = page.locator("[data-sonner-toast][data-type='success']", has_text="hello-tool")
    expect(done).to_be_visible()
    table = conda.get_by_test_id("conda-packages")
    expect(table).to_contain_text("1.0")
    expect(conda).to_contain_text(channel.as_uri())
    assert (code / ".conda" / "bin" / "hello-tool").is_file()
    locked = (code / "conda.lock").read_bytes()

    expect(conda.get_by_test_id("add-conda")).to_have_value("")  # cleared once it is done
    conda.get_by_test_id("add-conda").fill("no-such-tool")
    conda.get_by_role("button", name="Add conda packages").click()

    refused = page.locator("[data-sonner-toast]", has_text="no such conda package")
    expect(refused).to_be_visible()
    expect(refused).not_to_contain_text("nodepipe ")
    assert (code / "conda.lock").read_bytes() == locked
    expect(table).not_to_contain_text("no-such-tool")

    conda.get_by_role("button", name="Remove conda package hello-tool").click()

    removed = page.locator("[data-sonner-toast][data-type='success']", has_text="remove conda")
    expect(removed).to_be_visible()
    expect(conda.get_by_test_id("conda-packages")).to_have_count(0)
    expect(conda).to_contain_text("None.")
    assert served.workspace.conda.show("clean").specs == ()
    assert not (code / ".conda" / "bin" / "hello-tool").exists()
