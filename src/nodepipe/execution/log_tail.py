"""What a failed node said last: the line its log ends with (a traceback's exception line).

A node that fails says why on its own stderr, which goes to its log; the reason nodepipe
records ("exited with code 1") carries that line too, so every surface (the side panel, a
card's tooltip, ``status``) shows the exception without opening the log."""

from __future__ import annotations

from pathlib import Path

TAIL_BYTES = 16_384  # a traceback's end; never the whole log of a chatty node
LINE_CHARS = 300  # a reason stays one readable line
TRACEBACK = "Traceback (most recent call last):"
OWN_LINE = "# nodepipe:"  # nodepipe's own lines in the log (the command, the ending)


def last_words(log_file: Path) -> str:
    """The exception line of the last traceback in the log's tail, else its last line of
    output; empty when the log is missing, unreadable or silent."""
    try:
        with log_file.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - TAIL_BYTES))
            tail = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    if TRACEBACK in tail:
        tail = tail.rsplit(TRACEBACK, 1)[1]
    lines = [
        line.strip() for line in tail.splitlines() if line.strip() and not line.startswith(OWN_LINE)
    ]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…"
