"""Live progress of a run in the terminal (rich), or one JSON object per event (--json)."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from nodepipe.cli.listing import printable
from nodepipe.cli.output import console, escape, unless_reader_gone
from nodepipe.domain.states import NodeState

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

    from nodepipe.domain.events import NodeFinished, NodePreparing, RunEvent


class JsonEvents:
    """Streams each run event as one line of JSON on stdout: the JSON the web app's event
    stream sends for it (the same Pydantic reading of the same event types). A reader that goes
    away (``| head -1``) ends the stream, not the run."""

    def __init__(self) -> None:
        from pydantic import TypeAdapter  # only for --json: ~0.1 s

        from nodepipe.domain.events import RunEvent

        self._adapter: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)

    def __call__(self, event: RunEvent) -> None:
        with unless_reader_gone():
            print(self._adapter.dump_json(event).decode(), flush=True)


class LiveProgress:
    """A live line: a bar, done/running/failed counts, elapsed time, the nodes running now,
    and a node's long preparation as it goes ("clean: compiling external code (1,200 /
    30,000 files)"; piped: one line as it starts).

    The display starts with the run and stops with it; use it as a context manager so that it
    also stops when the run raises. rich is imported when the run starts in a terminal: a run
    with nothing to do never imports it, and piped output (no live line to draw) is a plain
    line per settled node, without rich. A reader that goes away (``| head -1``) ends the
    display, not the run.

    In a terminal the live line is built when rich draws it (``get_renderable``: at most
    ``_DRAWS_PER_SECOND`` times a second, and again when a line is printed above it, if it
    is older than a draw), never per event: a run of many quick nodes sends three events a
    node. Events change the counts under a lock the drawing thread takes too.
    """

    def __init__(self, terminal: bool | None = None) -> None:
        self.terminal = sys.stdout.isatty() if terminal is None else terminal
        self.tags: dict[str, str] = {}
        self.total = 0
        self.done = self.failed = self.skipped = self.cancelled = 0
        self.running: dict[str, float] = {}
        self.preparing: dict[str, str] = {}
        self.started = time.monotonic()
        self.live: Live | None = None
        self._lock = threading.Lock()
        self._drawn: tuple[float, Table] | None = None
        self._said: list[tuple[str, str, str]] = []

    def __enter__(self) -> LiveProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, event: RunEvent) -> None:
        with unless_reader_gone():
            self._show(event)

    def _show(self, event: RunEvent) -> None:
        # the events' module only once a run sends one: a run with nothing to do sends none
        from nodepipe.domain.events import RunFinished, RunStarted

        if isinstance(event, RunStarted):
            self.tags = event.tags
            self.total = len(event.node_ids)
            self.started = time.monotonic()
            if not self.terminal:
                return
            from rich.live import Live

            self.live = Live(
                console=console.rich,
                refresh_per_second=_DRAWS_PER_SECOND,
                transient=True,
                get_renderable=self._view,
            )
            self.live.start()
            return
        with self._lock:
            self._changed(event)
            said, self._said = self._said, []
        for style, mark, text in said:  # printed outside the lock: rich draws the line then
            self._print(style, mark, text)
        if isinstance(event, RunFinished) and self.live is not None:
            self.live.stop()

    def _changed(self, event: RunEvent) -> None:
        from nodepipe.domain.events import (
            NodeFinished,
            NodePreparing,
            NodeSkipped,
            NodeStarted,
            RunFinished,
        )

        if isinstance(event, NodePreparing):
            self._preparing(event)
        elif isinstance(event, NodeStarted):
            self.preparing.pop(event.node_id, None)
            self.running[event.node_id] = time.monotonic()
        elif isinstance(event, NodeFinished):
            self.preparing.pop(event.node_id, None)
            self.running.pop(event.node_id, None)
            self._count(event)
        elif isinstance(event, NodeSkipped):
            self.preparing.pop(event.node_id, None)
            self.skipped += 1
            tag = self.tags.get(event.node_id, event.node_id)
            self._line("dim", "skipped", f"{tag}: {event.reason}")
        elif isinstance(event, RunFinished):
            self.running.clear()

    def _view(self) -> Table:
        """The live line as rich draws it: built again only when the last one is older than
        a draw (rich also asks each time a line is printed above it)."""
        now = time.monotonic()
        with self._lock:
            if self._drawn is None or now - self._drawn[0] >= _FRESH_FOR:
                self._drawn = (now, self._render())
            return self._drawn[1]

    def _preparing(self, event: NodePreparing) -> None:
        tag = self.tags.get(event.node_id, event.node_id)
        if event.unit == "bytes":  # "recording outputs (1.2 / 4.0 GB)"
            total = _gigabytes(event.total)
            self.preparing[event.node_id] = f"{event.step} ({_gigabytes(event.done)} / {total} GB)"
            if event.done >= event.total:  # done: the node finishes next
                self.preparing.pop(event.node_id, None)
            if not self.terminal and event.done == 0:
                print(printable(f"… {tag}: {event.step} ({total} GB)"), flush=True)
            return
        if not event.unit:  # a step with nothing to count: "waiting for Ray to start it (…)"
            self.preparing[event.node_id] = event.step
            if not self.terminal:
                print(printable(f"… {tag}: {event.step}"), flush=True)
            return
        self.preparing[event.node_id] = f"{event.step} ({event.done:,} / {event.total:,} files)"
        if not self.terminal and event.done == 0:
            print(printable(f"… {tag}: {event.step} ({event.total:,} files)"), flush=True)

    def _count(self, event: NodeFinished) -> None:
        tag = self.tags.get(event.node_id, event.node_id)
        if event.state is NodeState.COMPLETED:
            self.done += 1
            self._line("green", "✔", tag)
        elif event.state is NodeState.CANCELLED:
            self.cancelled += 1
            self._line("magenta", "✖", f"{tag} cancelled")
        else:
            self.failed += 1
            outcome = event.outcome
            self._line("red", "✘", f"{tag} {outcome.status}: {outcome.message}")

    def _line(self, style: str, mark: str, text: str) -> None:
        """A line about a settled node, printed once the event is taken in."""
        self._said.append((style, mark, text))

    def _print(self, style: str, mark: str, text: str) -> None:
        """A line about a settled node: styled by rich in a terminal, plain text when piped."""
        if self.terminal:
            console.print(f"[{style}]{mark}[/] {escape(text)}")
        else:
            print(printable(f"{mark} {text}"), flush=True)

    def _render(self) -> Table:
        from rich.table import Table
        from rich.text import Text

        settled = self.done + self.failed + self.skipped + self.cancelled
        width = 30
        filled = int(width * settled / self.total) if self.total else 0
        bar = Text("━" * filled, style="green") + Text("━" * (width - filled), style="grey37")
        elapsed = time.monotonic() - self.started
        grid = Table.grid(padding=(0, 1))
        running = escape(", ".join(self.tags.get(n, n) for n in self.running))
        grid.add_row(
            bar,
            f"{settled}/{self.total} done: [green]{self.done}[/] ok, [blue]{len(self.running)}[/]"
            f" running, [red]{self.failed}[/] failed, {self.skipped} skipped",
            f"{elapsed:5.1f}s",
        )
        if running:
            grid.add_row("", f"[blue]running:[/] {running}", "")
        for node_id, step in self.preparing.items():
            tag = escape(self.tags.get(node_id, node_id))
            grid.add_row("", f"[blue]preparing:[/] {tag}: {escape(step)}", "")
        return grid


_DRAWS_PER_SECOND = 8
_FRESH_FOR = 0.9 / _DRAWS_PER_SECOND
"""How long a built live line is drawn again as it is (a little less than between two
draws: each draw of rich's refresh thread builds it anew)."""


def _gigabytes(count: int) -> str:
    """``count`` bytes in GB with one decimal (``1.2``)."""
    return f"{count / 1e9:.1f}"
