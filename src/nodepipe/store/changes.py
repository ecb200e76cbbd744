"""The columns an update may change, one ``TypedDict`` per table, and how their values are stored.

``StoreSession.update_node(node_id, **changes)`` and the others take these as keyword arguments
(``Unpack``), so mypy checks every column name and value type at the call. Values are domain
values (enums, tuples); :func:`column_values` turns them into what the columns hold.
``RunUpdates`` gathers a batch of a run's progress, written by either write path of a run
(``StoreSession.apply_run_updates`` or ``light_write``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypedDict, Unpack

from nodepipe.domain.environments import RunEnvironment
from nodepipe.domain.runs import NodeRun, NodeRunState, RunStatus
from nodepipe.domain.states import NodeState

_JSON_LISTS = ("reasons", "base_packages")
"""Columns that hold a tuple of strings as a JSON list."""

Previous = Mapping[str, tuple[NodeState, str]]
"""The state and reason of each node a run claims, before the claim (by node id)."""


def previous_rows(many: Sequence[NodeRun], previous: Previous | None) -> list[dict[str, Any]]:
    """The rows of ``node_run_previous_states`` for a claim's node runs: each node's state and
    reason before the claim, where ``previous`` says."""
    given = previous or {}
    return [
        {"node_run_id": nr.id, "state": given[nr.node_id][0].value, "reason": given[nr.node_id][1]}
        for nr in many
        if nr.node_id in given
    ]


class ProjectChanges(TypedDict, total=False):
    name: str
    notes: str


class PipelineChanges(TypedDict, total=False):
    tag: str
    project_id: str
    notes: str
    locked: bool
    base_packages: tuple[str, ...]


class NodeChanges(TypedDict, total=False):
    tag: str
    notes: str
    state: NodeState
    state_reason: str
    locked: bool
    owner_pipeline_id: str
    fingerprint: str | None
    output_digest: str | None


class MembershipChanges(TypedDict, total=False):
    x: float
    y: float
    group_id: str | None


class GroupChanges(TypedDict, total=False):
    name: str
    collapsed: bool


class RunChanges(TypedDict, total=False):
    status: RunStatus
    finished_at: datetime | None


class NodeRunChanges(TypedDict, total=False):
    state: NodeRunState
    reasons: tuple[str, ...]
    message: str
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    pid: int | None
    host: str
    fingerprint: str | None
    output_digest: str | None
    log_file: str
    cancel_requested: bool


def column_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` as the columns store them: an enum by its value, a tuple of strings as JSON."""
    values = dict(changes)
    for name, value in changes.items():
        if isinstance(value, Enum):
            values[name] = value.value
        elif name in _JSON_LISTS:
            values[name] = json.dumps(list(value))
    return values


class RunUpdates:
    """A batch of run progress to write in one transaction: for each row (by id) the columns
    it changes; a later change of a column within the batch replaces the earlier one.

    A plain class: nothing compares it, and a dataclass costs a run's start about 0.6 ms to
    make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("environments", "node_runs", "nodes", "runs")

    def __init__(self) -> None:
        self.node_runs: dict[str, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.environments: dict[str, RunEnvironment] = {}
        """What node runs started with, by node run id (new rows)."""

    def node_run(self, node_run_id: str, **changes: Unpack[NodeRunChanges]) -> None:
        self.node_runs.setdefault(node_run_id, {}).update(column_values(changes))

    def node(self, node_id: str, **changes: Unpack[NodeChanges]) -> None:
        self.nodes.setdefault(node_id, {}).update(column_values(changes))

    def run(self, run_id: str, **changes: Unpack[RunChanges]) -> None:
        self.runs.setdefault(run_id, {}).update(column_values(changes))
