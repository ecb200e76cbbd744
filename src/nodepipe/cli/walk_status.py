"""A line on stderr while a long walk of external code goes on ("hashing external code /usr:
40,000 of 140,513 files…"), for ``status`` and ``run`` on a terminal.

Only on a terminal (piped output and ``--json`` readers get nothing), and only once the command
has taken ``delay`` seconds: an ordinary status never shows it, and never imports this module's
rich (nor this module: ``showing_walks`` is imported by the commands only on a terminal).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nodepipe.cli.output import error_console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


class WalkStatus:
    """Told what each walk of external code is doing (``services.walk_reports``); shows it as
    a spinner once ``delay`` seconds have passed since it was made, hides it when the walk is
    done, and stays quiet for good once ``close``d (a run's live display takes over)."""

    def __init__(self, delay: float = 1.0, console: Console | None = None) -> None:
        self._since = time.monotonic()
        self._delay = delay
        self._console = console
        self._status: Status | None = None
        self._closed = False

    def __call__(self, what: str | None) -> None:
        if what is None or self._closed:
            self._hide()
        elif self._status is not None:
            self._status.update(what)
        elif time.monotonic() - self._since >= self._delay:
            console = self._console if self._console is not None else error_console.rich
            self._status = console.status(what)
            self._status.start()

    def close(self, _event: object = None) -> None:
        """Show nothing more (a run's events begin: its own display shows what happens)."""
        self._closed = True
        self._hide()

    def _hide(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def showing_walks() -> Iterator[WalkStatus]:
    """Show long walks of external code on stderr while the block runs."""
    from nodepipe.services.walk_reports import reporting

    shown = WalkStatus()
    with reporting(shown):
        yield shown
