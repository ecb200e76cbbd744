"""Listings (the tables of ``status``, ``node list``, ``runs`` …) drawn without rich.

Every read command prints a listing, and importing rich's console and table costs a command
about as much CPU as the rest of ``nodepipe status`` on a small pipeline. So a listing is drawn
here, in the look rich gives a borderless table with bold headers (``┃`` between headers,
``━╇━`` under them, ``│`` between cells), with the standard library only:

- in a terminal, the widest columns are wrapped (at spaces where they can be) so that each row
  fits the terminal's width, headers are bold and states coloured, unless ``NO_COLOR`` is set
  or ``TERM`` is ``dumb``;
- piped or redirected, each row stays on one line, however long, with no colour: what a
  script greps for is never cut in two;
- text is shown verbatim (``[`` is no markup); control characters from user text (an escape
  sequence in a note) are shown as ``�``, and a line break in a cell starts a new line in it.

Widths count wide (East Asian) characters as two columns, combining marks as none.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple, TextIO

_COLOURS = {
    "white": "37",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}
_CONTROL = {code: "\N{REPLACEMENT CHARACTER}" for code in (*range(0x20), 0x7F) if code != 0x0A}
_CONTROL[0x09] = "    "
_NARROWEST = 8
"""Columns narrower than this are never wrapped to make room."""


class Cell(NamedTuple):
    """A cell's text and its colour (a name of ``_COLOURS``; None: the terminal's own)."""

    text: str
    colour: str | None = None


def width(text: str) -> int:
    """The columns ``text`` takes in a terminal."""
    if text.isascii():  # most cells: one column a character (control characters are gone)
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


class Listing:
    """Rows of cells under column headers, drawn by ``write``."""

    def __init__(self, *columns: str) -> None:
        self.columns = columns
        self.rows: list[tuple[Cell, ...]] = []

    def add_row(self, *cells: str | Cell) -> None:
        made = tuple(cell if isinstance(cell, Cell) else Cell(cell) for cell in cells)
        self.rows.append(made + (Cell(""),) * (len(self.columns) - len(made)))

    def lines(self, fit: int | None = None, colour: bool = False) -> list[str]:
        """The listing's lines; with ``fit``, rows wrapped to fit that many columns."""
        cells = [[_lines(cell.text) for cell in row] for row in self.rows]
        widths = [
            max([width(header), *(width(line) for row in cells for line in row[index])])
            for index, header in enumerate(self.columns)
        ]
        if fit is not None:
            widths = _narrowed(widths, fit - 3 * len(widths) + 1)
            cells = [
                [_wrapped(text, w) for text, w in zip(row, widths, strict=True)] for row in cells
            ]
        on, off = ("\x1b[1m", "\x1b[0m") if colour else ("", "")
        headers = zip(self.columns, widths, strict=True)
        drawn = ["┃".join(f" {on}{_pad(header, w)}{off} " for header, w in headers)]
        drawn.append("╇".join("━" * (w + 2) for w in widths))
        for row, texts in zip(self.rows, cells, strict=True):
            depths = max(map(len, texts))
            if depths == 1 and not colour:  # most rows (10,000 a large status): one line each
                padded = [_pad(lines[0], w) for lines, w in zip(texts, widths, strict=True)]
                drawn.append(f" {' │ '.join(padded)} ")
                continue
            for depth in range(depths):
                parts = [
                    _paint(_pad(lines[depth] if depth < len(lines) else "", w), cell, colour)
                    for cell, lines, w in zip(row, texts, widths, strict=True)
                ]
                drawn.append("│".join(f" {part} " for part in parts))
        return drawn

    def write(self, stream: TextIO | None = None) -> None:
        """Print the listing on ``stream`` (stdout), fitted and coloured for a terminal."""
        out = stream if stream is not None else sys.stdout
        terminal = out.isatty()
        fit = shutil.get_terminal_size().columns if terminal else None
        colour = terminal and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        out.write("".join(line + "\n" for line in self.lines(fit, colour)))


def printable(text: str) -> str:
    """``text`` with control characters (but line breaks) shown as ``�``, tabs as spaces."""
    return text if text.isprintable() else text.translate(_CONTROL)


def _lines(text: str) -> list[str]:
    return printable(text).split("\n")


def _pad(text: str, columns: int) -> str:
    if text.isascii():
        return text.ljust(columns)
    return text + " " * (columns - width(text))


def _paint(text: str, cell: Cell, colour: bool) -> str:
    if not colour or cell.colour is None:
        return text
    return f"\x1b[{_COLOURS[cell.colour]}m{text}\x1b[0m"


def _narrowed(widths: Sequence[int], room: int) -> list[int]:
    """Column widths within ``room`` columns: the widest narrowed first, none below
    ``_NARROWEST`` (or its own width); the listing overflows if even that is too wide."""
    narrowed = list(widths)
    while sum(narrowed) > room:
        widest = max(range(len(narrowed)), key=lambda index: narrowed[index])
        if narrowed[widest] <= _NARROWEST:
            break
        narrowed[widest] = max(_NARROWEST, narrowed[widest] - (sum(narrowed) - room))
    return narrowed


def _wrapped(lines: list[str], columns: int) -> list[str]:
    """``lines`` wrapped at spaces to ``columns`` (a longer word is cut)."""
    if all(width(line) <= columns for line in lines):
        return lines
    wrapped: list[str] = []
    for line in lines:
        pieces = textwrap.wrap(line, columns, break_on_hyphens=False) or [""]
        for piece in pieces:
            while width(piece) > columns:  # wide characters: cut by columns, not characters
                cut = _cut(piece, columns)
                wrapped.append(piece[:cut])
                piece = piece[cut:]
            wrapped.append(piece)
    return wrapped


def _cut(text: str, columns: int) -> int:
    taken = 0
    for index, char in enumerate(text):
        taken += _char_width(char)
        if taken > columns:
            return max(index, 1)
    return len(text)
