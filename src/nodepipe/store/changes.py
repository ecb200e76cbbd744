"""The columns an update may change, one ``TypedDict`` per table, and how their values are stored.

``StoreSession.update_node(node_id, **changes)`` and the others take these as keyword arguments
(``Unpack``), so mypy checks every column name and value type at the call. Values are domain
values (enums, tuples); :func:`column_values` turns them into what the columns hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypedDict

from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.domain.states import NodeState

_JSON_LISTS = ("reasons", "base_packages")
"""Columns that hold a tuple of strings as a JSON list."""


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
