"""Which planned nodes may start now: kept up to date as nodes complete, not searched for.

``Plan.ready_after`` answers the same question by looking at every planned node; a scheduler
asking after every event would do work proportional to the plan's size each time. The queue
counts, for each planned node, the planned parents it still waits for, so a completion costs
only a look at the completed node's children.
"""

from __future__ import annotations

import heapq

from nodepipe.execution.plan import Plan


class ReadyQueue:
    """The planned nodes whose planned parents have all completed, given out in plan order."""

    def __init__(self, plan: Plan) -> None:
        ids = plan.ids
        self._position = {node_id: index for index, node_id in enumerate(ids)}
        self._waiting = {node_id: len(plan.parents.get(node_id, ())) for node_id in ids}
        self._children: dict[str, list[str]] = {}
        for node_id in ids:
            for parent in plan.parents.get(node_id, ()):
                self._children.setdefault(parent, []).append(node_id)
        self._ready = [(self._position[n], n) for n in ids if not self._waiting[n]]
        heapq.heapify(self._ready)

    def __bool__(self) -> bool:
        return bool(self._ready)

    def pop(self) -> str:
        """The ready node that comes first in the plan (IndexError when none is ready)."""
        return heapq.heappop(self._ready)[1]

    def completed(self, node_id: str) -> None:
        """``node_id`` completed: its children that waited only for it become ready."""
        for child in self._children.get(node_id, ()):
            self._waiting[child] -= 1
            if not self._waiting[child]:
                heapq.heappush(self._ready, (self._position[child], child))
