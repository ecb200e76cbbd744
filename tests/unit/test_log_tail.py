"""A failed node's reason carries what it said last: its exception line, from its log."""

from __future__ import annotations

from pathlib import Path

from nodepipe.execution.log_tail import LINE_CHARS, TAIL_BYTES, last_words

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "main.py", line 3, in <module>\n'
    "    load()\n"
    "ValueError: row 3 has no date\n"
)


def log(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.log"
    path.write_bytes(text.encode())
    return path


def test_the_exception_line_of_the_last_traceback(tmp_path: Path) -> None:
    chained = (
        TRACEBACK + "\nDuring handling of the above exception, another exception occurred:\n\n"
    )
    chained += TRACEBACK.replace("ValueError: row 3 has no date", "KeyError: 'date'")
    text = "# nodepipe: python main.py\nloading\n" + chained + "# nodepipe: exited with code 1\n"
    assert last_words(log(tmp_path, text)) == "KeyError: 'date'"


def test_without_a_traceback_the_last_line_of_output(tmp_path: Path) -> None:
    text = "# nodepipe: python main.py\nthe input is malformed\n\n# nodepipe: exited with code 1\n"
    assert last_words(log(tmp_path, text)) == "the input is malformed"


def test_a_silent_missing_or_huge_log(tmp_path: Path) -> None:
    assert last_words(log(tmp_path, "# nodepipe: python main.py\n")) == ""
    assert last_words(tmp_path / "gone.log") == ""
    chatty = "x" * (TAIL_BYTES * 50) + "\n" + TRACEBACK  # only the tail is read
    assert last_words(log(tmp_path, chatty)) == "ValueError: row 3 has no date"
    long = last_words(log(tmp_path, "SystemExit: " + "é" * 10_000 + "\n"))
    assert len(long) == LINE_CHARS and long.endswith("…")
