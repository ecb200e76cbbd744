"""The in-process event hub: what happens in a workspace, told to everyone watching it live.

Runs (through ``run_listener``), background jobs and the web API publish small frozen events
here from any thread; each subscriber (one per open event stream of the web app) reads them in
its own asyncio loop. Nothing polls: ``publish`` hands the event to every subscriber's loop.
A subscriber that falls too far behind gets one ``Resync`` and should reload what it shows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from nodepipe.domain.states import NodeState
from nodepipe.execution.events import (
    Listener,
    NodeFinished,
    NodeSkipped,
    NodeStarted,
    NodeSubmitted,
    RunEvent,
    RunFinished,
    RunStarted,
)

MAX_PENDING = 10_000
"""Events a subscriber may have unread before it is told to resync instead."""

_FINISHED_STATE = {
    "completed": NodeState.COMPLETED,
    "cancelled": NodeState.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class RunBegan:
    run_id: str
    pipeline_id: str
    node_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeStateChanged:
    """A node's state as a run moves it; ``reason`` says why it failed or was skipped."""

    run_id: str
    node_id: str
    node_run_id: str
    state: NodeState | None
    """None for a skipped node: it keeps the state it had before the run."""
    reason: str = ""
    log_file: str = ""


@dataclass(frozen=True, slots=True)
class RunEnded:
    run_id: str
    pipeline_id: str
    status: str
    completed: int
    failed: int
    skipped: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class RunCrashed:
    """nodepipe itself failed while orchestrating a run (not a node's fault)."""

    run_id: str | None
    pipeline_id: str
    message: str


@dataclass(frozen=True, slots=True)
class GraphChanged:
    """Something was changed through the web API: watchers reload what they show."""

    action: str
    origin: str = ""
    """The client that made the change, so it can skip reloading what it already has."""


@dataclass(frozen=True, slots=True)
class JobEnded:
    job_id: str


@dataclass(frozen=True, slots=True)
class Resync:
    """Events were dropped for this subscriber: reload everything shown."""


HubEvent = RunBegan | NodeStateChanged | RunEnded | RunCrashed | GraphChanged | JobEnded | Resync


@dataclass(eq=False)
class Subscription:
    """One reader of the hub, bound to the asyncio loop it reads from."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[HubEvent | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False
    closed: bool = False

    def deliver(self, event: HubEvent | None) -> None:
        """Runs in the subscriber's loop; None closes the subscription."""
        if event is None:
            self.closed = True
        if event is None or self.queue.qsize() < MAX_PENDING:
            self.overflowed = False
            self.queue.put_nowait(event)
        elif not self.overflowed:
            self.overflowed = True
            self.queue.put_nowait(Resync())

    async def events(self) -> AsyncIterator[HubEvent]:
        """The events published after subscribing, until the hub closes."""
        while (event := await self.queue.get()) is not None:
            yield event

    async def get(self, timeout: float) -> HubEvent | None:
        """The next event, or None after ``timeout`` seconds or when closed (see ``closed``)."""
        if self.closed and self.queue.empty():
            return None
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class EventHub:
    """Thread-safe publish, asyncio subscribe."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._closed = False

    def subscribe(self) -> Subscription:
        """A new subscription in the running loop; pass it to ``unsubscribe`` when done."""
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                subscription.deliver(None)
            else:
                self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, event: HubEvent) -> None:
        """Hand ``event`` to every subscriber; callable from any thread, never blocks."""
        self._send(event)

    def close(self) -> None:
        """End every subscription (at server shutdown)."""
        self._send(None)
        with self._lock:
            self._closed = True
            self._subscribers.clear()

    def _send(self, event: HubEvent | None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            try:
                subscription.loop.call_soon_threadsafe(subscription.deliver, event)
            except RuntimeError:  # its loop is closed: the reader is gone
                self.unsubscribe(subscription)


def run_listener(hub: EventHub, pipeline_id: str) -> Listener:
    """A run listener (see ``nodepipe.execution.events``) that publishes to ``hub``."""

    def listen(event: RunEvent) -> None:
        translated = translate(event, pipeline_id)
        if translated is not None:
            hub.publish(translated)

    return listen


def translate(event: RunEvent, pipeline_id: str) -> HubEvent | None:
    """The hub's view of one run event."""
    if isinstance(event, RunStarted):
        return RunBegan(event.run_id, pipeline_id, event.plan.ids)
    if isinstance(event, NodeSubmitted):
        return NodeStateChanged(
            event.run_id, event.node_id, event.node_run_id, NodeState.QUEUED, "", event.log_file
        )
    if isinstance(event, NodeStarted):
        return NodeStateChanged(event.run_id, event.node_id, event.node_run_id, NodeState.RUNNING)
    if isinstance(event, NodeFinished):
        outcome = event.outcome
        state = _FINISHED_STATE.get(outcome.status, NodeState.FAILED)
        return NodeStateChanged(
            event.run_id, event.node_id, event.node_run_id, state, outcome.message
        )
    if isinstance(event, NodeSkipped):
        return NodeStateChanged(event.run_id, event.node_id, event.node_run_id, None, event.reason)
    if isinstance(event, RunFinished):
        return RunEnded(
            event.run_id,
            pipeline_id,
            event.status,
            event.completed,
            event.failed,
            event.skipped,
            event.cancelled,
        )
    return None
