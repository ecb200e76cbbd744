"""Queries behind a pipeline's run history (part of ``StoreSession``): runs with their node
runs counted in the same statement, a page at a time, and each node's last finished run."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from nodepipe.domain.history import RunSummary
from nodepipe.domain.runs import NodeRun, NodeRunState
from nodepipe.store.base import QueryBase
from nodepipe.store.rows import node_run_from_row, run_from_row
from nodepipe.store.schema import memberships, node_runs, runs


def _count(condition: sa.ColumnElement[bool], label: str) -> sa.Label[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0).label(label)


def _in_state(state: NodeRunState, label: str) -> sa.Label[int]:
    return _count(node_runs.c.state == state.value, label)


_COUNTS = (
    sa.func.count(node_runs.c.id).label("asked"),
    _count(node_runs.c.started_at.is_not(None), "ran"),
    _in_state(NodeRunState.COMPLETED, "completed"),
    _in_state(NodeRunState.FAILED, "failed"),
    _in_state(NodeRunState.CANCELLED, "cancelled"),
    _in_state(NodeRunState.SKIPPED, "skipped"),
)


class HistoryQueries(QueryBase):
    """A pipeline's runs summed up, newest first, and the last finished run of its nodes."""

    def run_summaries(
        self, pipeline_id: str, limit: int, before: datetime | None = None
    ) -> list[RunSummary]:
        """At most ``limit`` runs of the pipeline requested before ``before``, newest first."""
        page = runs.select().where(runs.c.pipeline_id == pipeline_id)
        if before is not None:
            page = page.where(runs.c.created_at < before)
        chosen = page.order_by(runs.c.created_at.desc()).limit(limit).subquery()
        statement = (
            sa.select(chosen, *_COUNTS)
            .select_from(chosen.outerjoin(node_runs, node_runs.c.run_id == chosen.c.id))
            .group_by(*chosen.c)
            .order_by(chosen.c.created_at.desc())
        )
        return [_summary(row) for row in self._all(statement)]

    def last_node_runs(self, pipeline_id: str) -> list[NodeRun]:
        """The last node run that started and finished, of each node the pipeline shows."""
        finished = sa.and_(
            node_runs.c.started_at.is_not(None), node_runs.c.finished_at.is_not(None)
        )
        latest = (
            sa.select(node_runs.c.node_id, sa.func.max(node_runs.c.finished_at).label("last"))
            .join(memberships, memberships.c.node_id == node_runs.c.node_id)
            .where(memberships.c.pipeline_id == pipeline_id, finished)
            .group_by(node_runs.c.node_id)
            .subquery()
        )
        statement = node_runs.select().join(
            latest,
            sa.and_(
                node_runs.c.node_id == latest.c.node_id, node_runs.c.finished_at == latest.c.last
            ),
        )
        found: dict[str, NodeRun] = {}
        for row in self._all(statement.order_by(node_runs.c.created_at)):
            node_run = node_run_from_row(row)
            found[node_run.node_id] = node_run  # two ending at once: the later request wins
        return list(found.values())


def _summary(row: sa.RowMapping) -> RunSummary:
    return RunSummary(
        run=run_from_row(row),
        asked=int(row["asked"]),
        ran=int(row["ran"]),
        completed=int(row["completed"]),
        failed=int(row["failed"]),
        cancelled=int(row["cancelled"]),
        skipped=int(row["skipped"]),
    )
