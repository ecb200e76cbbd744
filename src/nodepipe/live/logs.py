"""Reading node-run logs as they grow: a whole log (its tail when huge) or only what is new.

Node processes write their logs straight to ``logs/<node-run>.log``; a ``LogTail`` remembers how
far it has read and decodes UTF-8 incrementally, so a character split across two reads is never
mangled. The web API's live log follows a running node with it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, NodeRun

MAX_LOG_BYTES = 1_000_000
"""The most of a log sent at once; a longer log starts with its last ``MAX_LOG_BYTES``."""
MAX_READ_BYTES = MAX_LOG_BYTES
"""The most one ``LogTail.read`` returns: what a node appends faster than a reader takes it
stays in the file, not in the server's memory; the next reads return the rest."""


@dataclass(frozen=True, slots=True)
class LogText:
    node_run: NodeRun
    text: str
    truncated: bool
    """True when the log was longer than ``MAX_LOG_BYTES`` and only its end is in ``text``."""

    @property
    def active(self) -> bool:
        return self.node_run.state in ACTIVE_NODE_RUN_STATES


class LogTail:
    """Follows one log file: each ``read`` returns the text appended since the previous one."""

    def __init__(self, path: Path | str, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = Path(path)
        self.offset = 0
        self.truncated = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._first = True
        self._max_bytes = max_bytes

    def read(self, limit: int = MAX_READ_BYTES) -> str:
        """New text, at most ``limit`` bytes of it ('' when nothing was added or the file does
        not exist yet); call again while it returns text to read everything there is."""
        try:
            with self.path.open("rb") as handle:
                if self._first:
                    size = handle.seek(0, 2)
                    self.offset = max(0, size - self._max_bytes)
                    self.truncated = self.offset > 0
                    self._first = False
                handle.seek(self.offset)
                block = handle.read(limit)
                self.offset += len(block)
        except FileNotFoundError:
            return ""
        return self._decoder.decode(block)


def read_log(node_run: NodeRun, max_bytes: int = MAX_LOG_BYTES) -> LogText:
    """The log of ``node_run`` as it is now ('' if it has not started writing one)."""
    if not node_run.log_file:
        return LogText(node_run, "", False)
    tail = LogTail(node_run.log_file, max_bytes)
    text = tail.read(max_bytes)
    return LogText(node_run, text, tail.truncated)
