"""Use cases of a pipeline's run history: its runs summed up a page at a time (who started
each, when, what ran, the outcome, how long) and the last finished run of each of its nodes
(the durations the canvas shows on its cards)."""

from __future__ import annotations

from datetime import datetime

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.history import RunHistory
from nodepipe.domain.runs import NodeRun, check_limit
from nodepipe.services import resolver
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.upkeep.crash_recovery import recover_after_crash


class RunHistoryService:
    """Reads only: nothing here starts, claims or changes a run (dead runs are settled first,
    so none stays ``running`` in the history)."""

    def __init__(self, context: WorkspaceContext) -> None:
        self.context = context

    def page(self, pipeline: str, limit: int = 50, before: datetime | None = None) -> RunHistory:
        """The pipeline's ``limit`` newest runs requested before ``before``; ``next_before``
        asks for the page after it."""
        check_limit(limit, 500)
        before = _moment(before)
        recover_after_crash(self.context)
        with self.context.store.read() as session:
            pipeline_id = resolver.pipeline(session, pipeline).id
            found = session.run_summaries(pipeline_id, limit + 1, before)
        more = len(found) > limit
        shown = tuple(found[:limit])
        return RunHistory(shown, shown[-1].run.created_at if more else None)

    def last_node_runs(self, pipeline: str) -> list[NodeRun]:
        """The last finished run of each node of the pipeline (nodes that never ran: none)."""
        with self.context.store.read() as session:
            return session.last_node_runs(resolver.pipeline(session, pipeline).id)


def _moment(before: object) -> datetime | None:
    """``before`` as a moment: a time without an offset is the local time (as typed at the
    shell, ``--before "2026-12-07 05:00:00"``); anything but a datetime is refused."""
    if before is None:
        return None
    if not isinstance(before, datetime):
        raise InvalidInputError(
            f"before must be a datetime (a page's next_before), not {type(before).__name__}"
        )
    return before if before.tzinfo is not None else before.astimezone()
