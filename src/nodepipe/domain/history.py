"""A pipeline's run history as values: one run summed up (who, when, what ran, how it ended,
how long) and a page of such summaries, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodepipe.domain.runs import Run


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run with its node runs counted: ``asked`` were planned, ``ran`` started, and how
    many ended each way (``skipped``: not run, because a parent failed or was cancelled, a
    kill reached it before it started, or the run was stopped)."""

    run: Run
    asked: int
    ran: int
    completed: int
    failed: int
    cancelled: int
    skipped: int

    @property
    def duration_seconds(self) -> float | None:
        """From the request to the end; ``None`` while the run goes on."""
        if self.run.finished_at is None:
            return None
        return (self.run.finished_at - self.run.created_at).total_seconds()


@dataclass(frozen=True, slots=True)
class RunHistory:
    """One page of a pipeline's runs, newest first; ``next_before`` asks for the next page
    (``None`` on the last)."""

    runs: tuple[RunSummary, ...]
    next_before: datetime | None
