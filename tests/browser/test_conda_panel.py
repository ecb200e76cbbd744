"""The node's environment panel shows its conda packages (locked version, how they were asked
for, the channel), and nothing about conda for a node without any."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from browser.canvas import node
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
    node(page, "clean").dblclick()
    panel = page.get_by_test_id("node-panel")
    panel.get_by_role("tab", name="Environment").click()
    table = panel.get_by_test_id("conda-packages")
    expect(table).to_contain_text("hello-tool")
    expect(table).to_contain_text("1.0")
    expect(table).to_contain_text("hello-tool 1.0.*")
    expect(panel.get_by_test_id("environment")).to_contain_text(channel.as_uri())
    node(page, "load").dblclick()
    panel.get_by_role("tab", name="Environment").click()
    expect(panel.get_by_test_id("environment")).to_contain_text("Python")
    expect(panel.get_by_test_id("conda-packages")).to_have_count(0)
