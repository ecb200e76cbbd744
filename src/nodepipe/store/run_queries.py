"""Queries on runs and node runs (part of ``StoreSession``)."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Unpack

import sqlalchemy as sa

from nodepipe.domain.environments import PRUNED_CODE, RunEnvironment
from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, NodeRun, Run, RunStatus
from nodepipe.domain.states import NodeState
from nodepipe.store import rows
from nodepipe.store.base import QueryBase, update_by_id
from nodepipe.store.changes import (
    NodeRunChanges,
    Previous,
    RunChanges,
    RunUpdates,
    column_values,
    previous_rows,
)
from nodepipe.store.schema import (
    node_run_environments,
    node_run_locks,
    node_run_previous_states,
    node_runs,
    nodes,
    runs,
)


def _shallow(node_run: NodeRun) -> dict[str, Any]:
    """The row of a node run (``asdict`` would deep-copy every value: slow on a big claim)."""
    return {name: getattr(node_run, name) for name in NodeRun.__dataclass_fields__}


class RunQueries(QueryBase):
    """Run history, the claim on nodes a run holds, and each node's last good fingerprint."""

    def insert_run(self, run: Run) -> None:
        self._execute(runs.insert().values(**column_values(asdict(run))))

    def update_run(self, run_id: str, **changes: Unpack[RunChanges]) -> None:
        statement = runs.update().where(runs.c.id == run_id)
        self._execute(statement.values(**column_values(changes)))

    def get_run(self, run_id: str) -> Run | None:
        row = self._one(runs.select().where(runs.c.id == run_id))
        return rows.run_from_row(row) if row else None

    def list_runs(self, pipeline_id: str | None = None, limit: int = 50) -> list[Run]:
        statement = runs.select().order_by(runs.c.created_at.desc()).limit(limit)
        if pipeline_id is not None:
            statement = statement.where(runs.c.pipeline_id == pipeline_id)
        return [rows.run_from_row(r) for r in self._all(statement)]

    def runs_with_status(self, status: RunStatus) -> list[Run]:
        statement = runs.select().where(runs.c.status == status.value)
        return [rows.run_from_row(r) for r in self._all(statement)]

    def runs_finished_since(self, since: datetime) -> list[Run]:
        """The runs whose end was recorded at or after ``since``."""
        statement = runs.select().where(runs.c.finished_at >= since)
        return [rows.run_from_row(r) for r in self._all(statement)]

    def insert_node_runs(self, many: Sequence[NodeRun], previous: Previous | None = None) -> None:
        """Insert node runs with one executemany (a run's claim inserts one per planned node),
        each with its node's state before the claim when ``previous`` gives it."""
        if many:
            values = [column_values(_shallow(node_run)) for node_run in many]
            self._connection.execute(node_runs.insert(), values)
        before = previous_rows(many, previous)
        if before:
            self._connection.execute(node_run_previous_states.insert(), before)

    def previous_states(self, run_id: str) -> dict[str, tuple[NodeState, str]]:
        """The state and reason each node had when run ``run_id`` claimed it, by node run id
        (none for a run claimed before the store kept them)."""
        kept = node_run_previous_states
        statement = (
            sa.select(kept.c.node_run_id, kept.c.state, kept.c.reason)
            .join(node_runs, node_runs.c.id == kept.c.node_run_id)
            .where(node_runs.c.run_id == run_id)
        )
        return {
            row.node_run_id: (NodeState(row.state), row.reason)
            for row in self._connection.execute(statement)
        }

    def update_node_run(self, node_run_id: str, **changes: Unpack[NodeRunChanges]) -> None:
        statement = node_runs.update().where(node_runs.c.id == node_run_id)
        self._execute(statement.values(**column_values(changes)))

    def node_runs_of_run(self, run_id: str) -> list[NodeRun]:
        statement = node_runs.select().where(node_runs.c.run_id == run_id)
        statement = statement.order_by(node_runs.c.created_at)
        return [rows.node_run_from_row(r) for r in self._all(statement)]

    def node_runs_of_node(self, node_id: str, limit: int = 20) -> list[NodeRun]:
        statement = (
            node_runs.select()
            .where(node_runs.c.node_id == node_id)
            .order_by(node_runs.c.created_at.desc())
            .limit(limit)
        )
        return [rows.node_run_from_row(r) for r in self._all(statement)]

    def active_node_runs(self, node_ids: Collection[str] | None = None) -> list[NodeRun]:
        """Node runs queued or running (in any run), optionally only for ``node_ids``."""
        states = [state.value for state in ACTIVE_NODE_RUN_STATES]
        statement = node_runs.select().where(node_runs.c.state.in_(states))
        if node_ids is not None:
            statement = statement.where(node_runs.c.node_id.in_(list(node_ids)))
        return [rows.node_run_from_row(r) for r in self._all(statement)]

    def node_fingerprints(
        self, node_ids: Collection[str]
    ) -> dict[str, tuple[str | None, str | None]]:
        """For each node: (fingerprint JSON of its last successful run, its output digest)."""
        statement = sa.select(nodes.c.id, nodes.c.fingerprint, nodes.c.output_digest).where(
            nodes.c.id.in_(list(node_ids))
        )
        return {r["id"]: (r["fingerprint"], r["output_digest"]) for r in self._all(statement)}

    def apply_run_updates(self, updates: RunUpdates) -> None:
        """Write a batch of run progress: each changed row once, with every column it got, in
        one executemany per table and set of columns."""
        for table, changes in (
            (node_runs, updates.node_runs),
            (nodes, updates.nodes),
            (runs, updates.runs),
        ):
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row_id, values in changes.items():
                by_columns.setdefault(tuple(values), []).append({"b_id": row_id, **values})
            for columns, batch in by_columns.items():
                self._connection.execute(_update_statement(table.name, columns), batch)
        self.insert_run_environments(updates.environments)

    def insert_run_environments(self, recorded: dict[str, RunEnvironment]) -> None:
        """What node runs started with (node run id -> environment), one executemany each."""
        if not recorded:
            return
        self._connection.execute(
            node_run_environments.insert(),
            [
                {
                    "node_run_id": i,
                    "python": e.python,
                    "platform": e.platform,
                    "code": e.code,
                    "interpreter": e.interpreter,
                }
                for i, e in recorded.items()
            ],
        )
        locks = [
            {"node_run_id": i, "kind": kind, "sha256": digest}
            for i, e in recorded.items()
            for kind, digest in e.locks.items()
        ]
        if locks:
            self._connection.execute(node_run_locks.insert(), locks)

    def recorded_digests(self) -> set[str]:
        """Every output digest and recorded code manifest the store names (what an object
        storage must keep for this workspace)."""
        statements = (
            sa.select(nodes.c.output_digest).where(nodes.c.output_digest.is_not(None)),
            sa.select(node_runs.c.output_digest).where(node_runs.c.output_digest.is_not(None)),
            sa.select(node_run_environments.c.code),
        )
        found: set[str] = set()
        for statement in statements:
            found.update(str(row[0]) for row in self._connection.execute(statement.distinct()))
        return found

    def kept_environments(self, excluding: Collection[str] = ()) -> tuple[set[str], set[str]]:
        """The code manifests and lock contents the recorded environments still name (a pruned
        one names none; nor do the node runs ``excluding``): what the object store keeps."""
        left_out = set(excluding)
        codes = sa.select(node_run_environments.c.node_run_id, node_run_environments.c.code)
        locks = sa.select(node_run_locks.c.node_run_id, node_run_locks.c.sha256)
        kept_codes = {
            str(code)
            for node_run, code in self._connection.execute(codes)
            if code != PRUNED_CODE and node_run not in left_out
        }
        kept_locks = {
            str(sha)
            for node_run, sha in self._connection.execute(locks)
            if node_run not in left_out
        }
        return kept_codes, kept_locks

    def environments_beyond(self, keep: int) -> list[tuple[str, str, str]]:
        """(node run id, run id, node id) of each recorded environment older than the newest
        ``keep`` of its node's (by start); pruned ones are not listed."""
        newest = (
            sa.func.row_number()
            .over(
                partition_by=node_runs.c.node_id,
                order_by=(node_runs.c.started_at.desc(), node_runs.c.created_at.desc()),
            )
            .label("newest")
        )
        ranked = (
            sa.select(node_runs.c.id, node_runs.c.run_id, node_runs.c.node_id, newest)
            .select_from(node_runs.join(node_run_environments))
            .where(node_run_environments.c.code != PRUNED_CODE)
            .subquery()
        )
        statement = sa.select(ranked.c.id, ranked.c.run_id, ranked.c.node_id).where(
            ranked.c.newest > keep
        )
        rows = self._connection.execute(statement.order_by(ranked.c.id)).all()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def prune_environments(self, node_run_ids: list[str]) -> None:
        """Forget what these node runs started with (their code and locks); their run, state
        and interpreter stay, marked pruned."""
        for start in range(0, len(node_run_ids), 500):
            batch = node_run_ids[start : start + 500]
            where = node_run_environments.c.node_run_id.in_(batch)
            self._connection.execute(
                node_run_environments.update().where(where).values(code=PRUNED_CODE)
            )
            self._connection.execute(
                node_run_locks.delete().where(node_run_locks.c.node_run_id.in_(batch))
            )

    def run_environment(self, node_run_id: str) -> RunEnvironment | None:
        """What node run ``node_run_id`` started with; None when nothing was recorded."""
        row = self._one(
            node_run_environments.select().where(node_run_environments.c.node_run_id == node_run_id)
        )
        if row is None:
            return None
        locks = self._all(
            sa.select(node_run_locks.c.kind, node_run_locks.c.sha256).where(
                node_run_locks.c.node_run_id == node_run_id
            )
        )
        return RunEnvironment(
            python=row["python"],
            platform=row["platform"],
            code=row["code"],
            locks={r["kind"]: r["sha256"] for r in locks},
            interpreter=row["interpreter"],
        )

    def set_node_fingerprint(
        self, node_id: str, fingerprint: str | None, output_digest: str | None
    ) -> None:
        statement = nodes.update().where(nodes.c.id == node_id)
        self._execute(statement.values(fingerprint=fingerprint, output_digest=output_digest))


_TABLES = {table.name: table for table in (node_runs, nodes, runs)}


@functools.cache
def _update_statement(table: str, columns: tuple[str, ...]) -> sa.Update:
    return update_by_id(_TABLES[table], *columns)
