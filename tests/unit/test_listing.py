"""Listings drawn without rich: rich's look, text shown verbatim, fitted to a terminal only."""

from __future__ import annotations

import io

from nodepipe.cli.listing import Cell, Listing, printable, width


def sample() -> Listing:
    rows = Listing("id", "tag", "state", "why")
    rows.add_row("28cs7c5k", "load", Cell("completed", "green"), "up to date")
    rows.add_row("3ga28a74", "x[/]", Cell("stale", "yellow"), "code changed: main.py; " * 4)
    return rows


def test_a_listing_looks_like_richs_borderless_table() -> None:
    rows = Listing("id", "tag")
    rows.add_row("28cs7c5k", "source")
    rows.add_row("3ga28a74", "n001")
    assert rows.lines() == [
        " id       ┃ tag    ",
        "━━━━━━━━━━╇━━━━━━━━",
        " 28cs7c5k │ source ",
        " 3ga28a74 │ n001   ",
    ]


def test_piped_rows_stay_whole_and_plain() -> None:
    stream = io.StringIO()  # not a terminal
    sample().write(stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4, "one line per row, however long"
    assert "code changed: main.py; " * 4 in lines[3]
    assert "x[/]" in lines[3], "no markup: a tag is shown as typed"
    assert "\x1b" not in stream.getvalue()


def test_in_a_terminal_rows_fit_its_width_and_states_are_coloured() -> None:
    lines = sample().lines(fit=60, colour=True)
    assert all(width(_plain(line)) <= 60 for line in lines)
    assert len(lines) > 4, "the long reason is wrapped onto more lines"
    assert "".join(_plain(line) for line in lines).count("main.py") == 4
    assert "\x1b[32mcompleted" in lines[2] and "\x1b[1mid" in lines[0]


def test_control_characters_in_user_text_are_not_sent_to_the_terminal() -> None:
    rows = Listing("id", "notes")
    rows.add_row("a", "evil\x1b]0;title\x07 note\r\nsecond line")
    lines = rows.lines()
    assert not any(char in "".join(lines) for char in "\x1b\x07\r")
    assert lines[2].endswith("evil�]0;title� note� ") and "second line" in lines[3]
    assert printable("tab\there") == "tab    here"


def test_wide_characters_keep_the_columns_aligned() -> None:
    rows = Listing("tag", "state")
    rows.add_row("データ", "ready")
    rows.add_row("ab", "stale")
    separators = [line.index("│") for line in rows.lines()[2:]]
    assert [width(line[:at]) for line, at in zip(rows.lines()[2:], separators, strict=True)] == [
        8,
        8,
    ]


def _plain(line: str) -> str:
    for code in ("\x1b[1m", "\x1b[0m", "\x1b[32m", "\x1b[33m"):
        line = line.replace(code, "")
    return line
