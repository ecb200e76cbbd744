"""Every key the web app answers to is in the one shortcut table (web/src/canvas/shortcuts.ts)
that the `?` sheet shows: no component reads KeyboardEvent keys or modifiers itself, every
shortcut of the table has a handler, and the sheet lists each shortcut under the place it
works in."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.accessibility import expect_accessible
from browser.canvas import node, press_in, press_on_canvas
from browser.conftest import Served

SRC = Path(__file__).resolve().parents[2] / "web" / "src"
TABLE = SRC / "canvas" / "shortcuts.ts"
# Reading a key or a modifier of an event, or naming keys for a library (React Flow's
# *KeyCode props, a CodeMirror keymap entry), anywhere but in the table's module.
KEY_READING = re.compile(
    r"\.(key|keyCode|which|shiftKey|ctrlKey|metaKey|altKey)\b"
    r"|\b(e|ev|event)\.code\b|KeyCode=\"|key:\s*\""
)
ENTRY = re.compile(r'\{ id: "(\w+)", where: "(\w+)", keys: (\[.*?\]\]),')


def table() -> list[tuple[str, str]]:
    """(id, where) of each shortcut in the table, in order."""
    return [(m[1], m[2]) for m in ENTRY.finditer(TABLE.read_text())]


def sources() -> list[Path]:
    found = [*SRC.rglob("*.ts"), *SRC.rglob("*.tsx")]
    return [p for p in found if p != TABLE and "api" not in p.relative_to(SRC).parts[:1]]


def test_no_component_reads_keys_outside_the_shortcut_table() -> None:
    readers = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if KEY_READING.search(line) and not line.lstrip().startswith("//")
    ]
    assert readers == [], "keys read outside canvas/shortcuts.ts:\n" + "\n".join(readers)


def test_every_shortcut_in_the_table_has_a_handler() -> None:
    ids = [shortcut for shortcut, _ in table()]
    union = re.search(r"export type ShortcutId =([^;]+);", TABLE.read_text())
    assert union is not None
    assert sorted(ids) == sorted(re.findall(r'"(\w+)"', union[1]))  # the parse saw every entry
    code = "\n".join(path.read_text() for path in sources())
    unhandled = [s for s in ids if not re.search(rf'"{s}"|\b{s}: \(\) =>|\b{s}:', code)]
    assert unhandled == [], f"in the table but handled nowhere: {unhandled}"


def test_the_sheet_lists_every_shortcut_where_it_works(page: Page, served: Served) -> None:
    served.workspace.nodes.new("baseline", "load")
    page.goto(served.link)
    expect(node(page, "load")).to_be_visible()
    press_on_canvas(page, "Shift+?")
    sheet = page.get_by_test_id("shortcut-sheet")
    expect(sheet).to_be_visible()
    expected = table()
    expect(sheet.get_by_test_id("shortcut-row")).to_have_count(len(expected))
    for shortcut, where in expected:
        row = sheet.locator(f'[data-place="{where}"] [data-shortcut="{shortcut}"]')
        expect(row).to_have_count(1)
    keys = {
        "runNow": "Shift+click",
        "boxSelect": "Shift+drag",
        "addToSelection": "Shift+click or Ctrl+click",
        "closeHistory": "Esc",
        "cancel": "Esc",
        "previousControl": "Shift+Tab",
        "menuNext": "↓",
        "openRun": "Enter or Space",
        "save": "Ctrl+S",
    }
    for shortcut, label in keys.items():
        expect(sheet.locator(f'[data-shortcut="{shortcut}"] .sheet-keys')).to_have_text(label)
    expect(sheet.locator('[data-place="toolbar"]')).to_contain_text("without the preview")
    expect(sheet.locator('[data-place="history"] h3')).to_have_text("History view")
    expect_accessible(page, "the shortcut sheet", "[data-testid=shortcut-sheet]")
    press_in(sheet, "Escape")
    expect(sheet).to_have_count(0)
