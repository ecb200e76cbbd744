"""Outputs and code in the app: the demo's plot in the Outputs tab, previews of tables, JSON,
Markdown and sandboxed HTML reports; the Code tab edits main.py in CodeMirror, the card turns
stale at once, and a file changed on disk meanwhile is not overwritten silently.

With ``NODEPIPE_SCREENSHOTS=1`` the demo and editor tests also write
docs/screenshots/outputs-viewer.png and docs/screenshots/code-editor.png (1440x900).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

import nodepipe
from api.live import server_process
from browser.accessibility import expect_accessible
from browser.canvas import expect_state, open_panel, press_in
from browser.conftest import Served
from browser.screenshots import save_screenshot
from nodepipe.services.demo import create_demo
from nodepipe.services.runs.service import RunRequest
from support.waiting import wait_for

REPORTS = """\
import json
import nodepipe_node as node

(node.data_dir() / "table.csv").write_text("day,temperature\\n1,3.5\\n2,4.25\\n")
(node.data_dir() / "summary.json").write_text(json.dumps({"mean": 3.9, "days": [1, 2]}))
(node.reports_dir() / "notes.md").write_text("# Findings\\n\\n*warm* <img src=x onerror=alert(1)>")
(node.reports_dir() / "report.html").write_text(
    "<p id='p'>hello</p><script>document.getElementById('p').textContent = 'ran'</script>"
)
"""


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Served]:
    """The demo workspace, run once (its plot written to reports/), served."""
    ws = create_demo(tmp_path / "demo")
    ws.runs.run(RunRequest("weather"))
    with server_process(ws.root, tmp_path / "server.log") as live:
        yield Served(live, ws)
    ws.close()


def test_the_demos_plot_is_shown_in_the_outputs_tab(page: Page, demo: Served) -> None:
    page.goto(demo.link + "#pipeline=weather")
    expect_state(page, "plot", "completed")
    open_panel(page, "plot", "Outputs")
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_role("button", name="reports/temperature.svg")).to_be_visible()
    expect(panel.get_by_role("button", name="data/done.txt")).to_be_visible()
    image = panel.get_by_test_id("output-image")
    expect(image).to_be_visible()
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 720, "the plot")
    download = panel.get_by_role("link", name="Download reports/temperature.svg")
    written = demo.workspace.nodes.path("plot") / "reports" / "temperature.svg"
    href = download.get_attribute("href") or ""
    assert "file=reports%2Ftemperature.svg" in href and "download=true" in href
    assert "ticket=" not in href  # the address alone, which the server refuses
    assert httpx.get(demo.url + href).status_code == 401
    # pointed at (as before a right-click), the link carries a one-minute ticket for this one
    # address, so the browser's own "Save link as", which sends no header, gets the file
    download.hover()
    expect(download).to_have_attribute("href", re.compile(r"[?&]ticket="))
    ticketed = download.get_attribute("href") or ""
    assert demo.live.token not in ticketed  # never the credential itself
    saved_as = httpx.get(demo.url + ticketed)
    assert saved_as.status_code == 200 and saved_as.content == written.read_bytes()
    assert httpx.post(demo.url + ticketed).status_code == 401  # a GET only
    with page.expect_download() as downloading:
        download.click()
    saved = downloading.value
    assert saved.suggested_filename == "temperature.svg"
    assert Path(saved.path()).read_bytes() == written.read_bytes()
    save_screenshot(page, "outputs-viewer.png")


def test_a_context_menu_opened_before_the_links_ticket_came_still_offers_a_ticketed_link(
    page: Page, served: Served
) -> None:
    """A right-click the moment the pointer reaches a download link comes before the ticket
    minted on its arrival: the link gets one before the browser builds its menu (which reads
    the href as the contextmenu event leaves it), so "Save link as" never gets the bare
    address (401)."""
    ws = served.workspace
    ws.nodes.new("baseline", "report")
    (ws.nodes.path("report") / "code" / "main.py").write_text(REPORTS)
    ws.runs.run(RunRequest("baseline"))
    page.goto(served.link)
    expect_state(page, "report", "completed")
    panel = open_panel(page, "report", "Outputs")
    link = panel.get_by_role("link", name="Download data/table.csv")
    expect(link).to_have_attribute("href", re.compile(r"download=true$"))  # no ticket yet
    href = link.evaluate(
        """a => {
            const menu = {bubbles: true, cancelable: true, button: 2};
            a.dispatchEvent(new MouseEvent("contextmenu", menu));
            return a.getAttribute("href");  // what the browser's menu would offer
        }"""
    )
    assert "ticket=" in href and served.live.token not in href
    saved = httpx.get(served.url + href)
    assert saved.status_code == 200
    assert saved.content == (ws.nodes.path("report") / "data" / "table.csv").read_bytes()


def test_tables_json_markdown_and_sandboxed_html_are_previewed(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "report")
    (ws.nodes.path("report") / "code" / "main.py").write_text(REPORTS)
    ws.runs.run(RunRequest("baseline"))
    page.goto(served.link)
    expect_state(page, "report", "completed")
    open_panel(page, "report", "Outputs")
    panel = page.get_by_test_id("node-panel")
    for path in ("data/table.csv", "data/summary.json", "reports/notes.md", "reports/report.html"):
        expect(panel.get_by_role("button", name=path)).to_be_visible()

    panel.get_by_role("button", name="data/table.csv").click()
    table = panel.get_by_test_id("output-table")
    expect(table.locator("th")).to_have_text(["day", "temperature"])
    expect(table.locator("tbody tr").nth(1).locator("td")).to_have_text(["2", "4.25"])

    panel.get_by_role("button", name="data/summary.json").click()
    expect(panel.get_by_test_id("output-json")).to_contain_text('"mean": 3.9')

    panel.get_by_role("button", name="reports/notes.md").click()
    markdown = panel.get_by_test_id("output-markdown")
    expect(markdown.locator("h1")).to_have_text("Findings")
    expect(markdown.locator("em")).to_have_text("warm")
    assert markdown.locator("img").get_attribute("onerror") is None  # sanitised

    panel.get_by_role("button", name="reports/report.html").click()
    frame = panel.get_by_test_id("output-frame")
    expect(frame).to_have_attribute("sandbox", "")
    inner = page.frame_locator("[data-testid=output-frame]")
    expect(inner.locator("#p")).to_have_text("hello")  # shown, its script did not run
    expect_accessible(page, "the Outputs tab", "[data-testid=node-panel]")


def test_code_is_edited_in_codemirror_and_the_card_turns_stale(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    ws.runs.run(RunRequest("baseline"))
    main = ws.nodes.path("train") / "code" / "main.py"
    page.goto(served.link)
    expect_state(page, "train", "completed")
    open_panel(page, "train", "Code")
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("code-file-select")).to_have_value("main.py")
    content = panel.locator(".cm-content")
    expect(content).to_contain_text(main.read_text().splitlines()[0])
    options = panel.get_by_test_id("code-file-select").locator("option").all_inner_texts()
    assert {"main.py", "params.yaml", "pyproject.toml"} <= set(options)
    assert not any(o.startswith(".venv") for o in options)
    expect(content.locator(".cm-line span").first).to_be_visible()  # highlighted tokens
    expect_accessible(page, "the Code tab", "[data-testid=node-panel]")

    content.click()
    press_in(content, "Control+End")
    page.keyboard.type("\nprint('edited in the app')\n")
    save_screenshot(page, "code-editor.png")
    press_in(content, "Control+s")
    expect(page.locator("[data-sonner-toast]", has_text="Saved main.py")).to_be_visible()
    assert "print('edited in the app')" in main.read_text()
    expect_state(page, "train", "stale", 30_000)


def test_a_file_changed_on_disk_is_not_overwritten_silently(page: Page, served: Served) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    main = ws.nodes.path("train") / "code" / "main.py"
    page.goto(served.link)
    open_panel(page, "train", "Code")
    panel = page.get_by_test_id("node-panel")
    content = panel.locator(".cm-content")
    expect(content).to_contain_text(main.read_text().splitlines()[0])
    content.click()
    press_in(content, "Control+End")
    page.keyboard.type("\nx = 'from the app'\n")
    main.write_text("x = 'from my editor'\n")  # meanwhile, in another editor
    panel.get_by_test_id("code-save").click()
    conflict = panel.get_by_test_id("code-conflict")
    expect(conflict).to_contain_text("changed on disk since you opened it — Reload or Overwrite")
    assert main.read_text() == "x = 'from my editor'\n"
    conflict.get_by_role("button", name="Reload").click()
    expect(content).to_have_text("x = 'from my editor'")
    expect(conflict).to_be_hidden()

    content.click()
    press_in(content, "Control+End")
    page.keyboard.type("y = 1")
    main.write_text("x = 'changed again'\n")
    panel.get_by_test_id("code-save").click()
    expect(conflict).to_be_visible()
    conflict.get_by_role("button", name="Overwrite").click()
    wait_for(lambda: main.read_text() == "x = 'from my editor'\ny = 1", "the overwrite")


def test_a_locked_node_names_the_unlock_menu_item(page: Page, served: Served) -> None:
    ws: nodepipe.Workspace = served.workspace
    ws.nodes.new("baseline", "train")
    ws.nodes.lock("train")
    page.goto(served.link)
    open_panel(page, "train", "Code")
    panel = page.get_by_test_id("node-panel")
    expect(panel.get_by_test_id("code-read-only")).to_contain_text("right-click the node → Unlock")
    expect(panel.get_by_test_id("code-save")).to_be_disabled()
    expect(panel.locator(".cm-content")).to_have_attribute("contenteditable", "false")


WEB = Path(__file__).resolve().parents[2] / "web"
PARQUET_WRITER = """\
import { parquetWriteFile } from "hyparquet-writer";
const days = Array.from({ length: 1000 }, (_, i) => i + 1);
parquetWriteFile({
  filename: process.argv.at(-1),
  columnData: [
    { name: "day", data: days, type: "INT32" },
    { name: "city", data: days.map((d) => (d % 2 ? "Oslo" : "Lima")), type: "STRING" },
  ],
});
"""


def test_a_parquet_head_is_read_in_the_browser_by_ranges(
    page: Page, served: Served, tmp_path: Path
) -> None:
    made = tmp_path / "weather.parquet"
    # Made by hyparquet-writer (a dev dependency of the web app): no Parquet library in Python.
    command = ["node", "--input-type=module", "-e", PARQUET_WRITER, "--", str(made)]
    subprocess.run(command, check=True, cwd=WEB)
    ws = served.workspace
    ws.nodes.new("baseline", "table")
    (ws.nodes.path("table") / "code" / "main.py").write_text(
        "import shutil\nimport nodepipe_node as node\n\n"
        f"shutil.copy({str(made)!r}, node.data_dir() / 'weather.parquet')\n"
    )
    ws.runs.run(RunRequest("baseline"))
    ranges: list[str | None] = []
    page.on(
        "request",
        lambda r: ranges.append(r.headers.get("range")) if "weather.parquet" in r.url else None,
    )
    page.goto(served.link)
    expect_state(page, "table", "completed")
    open_panel(page, "table", "Outputs")
    table = page.get_by_test_id("node-panel").get_by_test_id("output-table")
    expect(table.locator("th")).to_have_text(["day", "city"])
    expect(table.locator("tbody tr")).to_have_count(50)
    expect(table.locator("tbody tr").nth(1).locator("td")).to_have_text(["2", "Lima"])
    expect(table).to_contain_text("50 of 1,000 rows")
    assert ranges and all(r and r.startswith("bytes=") for r in ranges)  # never the whole file


def test_a_code_file_is_renamed_and_deleted_and_the_card_turns_stale(
    page: Page, served: Served
) -> None:
    ws = served.workspace
    ws.nodes.new("baseline", "train")
    code = ws.nodes.path("train") / "code"
    (code / "helpers.py").write_text("X = 1\n")
    ws.runs.run(RunRequest("baseline"))
    page.goto(served.link)
    expect_state(page, "train", "completed", 30_000)
    open_panel(page, "train", "Code")
    panel = page.get_by_test_id("node-panel")
    select = panel.get_by_test_id("code-file-select")
    expect(select).to_have_value("main.py")
    expect(panel.get_by_test_id("code-delete")).to_have_count(0)  # main.py is what runs
    expect(panel.get_by_test_id("code-rename")).to_have_count(0)

    select.select_option("helpers.py")
    expect(panel.locator(".cm-content")).to_contain_text("X = 1")
    panel.get_by_test_id("code-rename").click()
    dialog = page.get_by_test_id("dialog")
    dialog.get_by_role("textbox").fill("lib/io.py")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(page.locator("[data-sonner-toast]", has_text="Renamed helpers.py")).to_be_visible()
    expect(select).to_have_value("lib/io.py")
    expect(select.locator("option", has_text="helpers.py")).to_have_count(0)
    assert (code / "lib" / "io.py").read_text() == "X = 1\n"
    assert not (code / "helpers.py").exists()
    expect_state(page, "train", "stale", 30_000)  # live, without a reload

    panel.get_by_test_id("code-delete").click()
    expect(dialog).to_contain_text("Undo cannot bring it back")
    # Changed on disk after the delete was asked for: the tab's live refresh may read the new
    # text, but the delete is over the version the dialog was opened at, so it is refused.
    (code / "lib" / "io.py").write_text("X = 2\n")
    dialog.get_by_test_id("dialog-confirm").click()
    expect(page.locator("[data-sonner-toast]", has_text="changed on disk")).to_be_visible()
    assert (code / "lib" / "io.py").read_text() == "X = 2\n"

    select.select_option("main.py")
    select.select_option("lib/io.py")
    expect(panel.locator(".cm-content")).to_contain_text("X = 2")
    panel.get_by_test_id("code-delete").click()
    dialog.get_by_role("button", name="Cancel").click()
    assert (code / "lib" / "io.py").exists()
    panel.get_by_test_id("code-delete").click()
    dialog.get_by_test_id("dialog-confirm").click()
    expect(page.locator("[data-sonner-toast]", has_text="Deleted lib/io.py")).to_be_visible()
    expect(select).to_have_value("main.py")
    expect(select.locator("option", has_text="lib/io.py")).to_have_count(0)
    assert not (code / "lib" / "io.py").exists()
    expect_accessible(page, "the Code tab with Rename and Delete", "[data-testid=node-panel]")
