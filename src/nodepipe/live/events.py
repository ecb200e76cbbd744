"""The in-process event hub: what happens in a workspace, told to everyone watching it live.

Runs (the hub's ``publish`` is one of their listeners) publish their events here as they are;
background jobs and the web API add the web app's own events below. Each subscriber (one per
open event stream of the web app) reads them in its own asyncio loop. Nothing polls:
``publish`` hands the event to every subscriber's loop. A subscriber that falls too far behind
gets one ``Resync`` and should reload what it shows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from nodepipe.domain.events import RunEvent

MAX_PENDING = 10_000
"""Events a subscriber may have unread before it is told to resync instead."""


@dataclass(frozen=True, slots=True)
class RunCrashed:
    """nodepipe itself failed while orchestrating a run (not a node's fault)."""

    run_id: str | None
    pipeline_id: str
    message: str
    type: Literal["run_crashed"] = field(default="run_crashed", init=False)


@dataclass(frozen=True, slots=True)
class GraphChanged:
    """Something was changed through the web API: watchers reload what they show."""

    action: str
    origin: str = ""
    """The client that made the change, so it can skip reloading what it already has."""
    type: Literal["graph_changed"] = field(default="graph_changed", init=False)


@dataclass(frozen=True, slots=True)
class JobFinished:
    """A background job ended: its record says how."""

    job_id: str
    type: Literal["job_finished"] = field(default="job_finished", init=False)


@dataclass(frozen=True, slots=True)
class Resync:
    """Events were dropped for this subscriber: reload everything shown."""

    type: Literal["resync"] = field(default="resync", init=False)


HubEvent = RunEvent | RunCrashed | GraphChanged | JobFinished | Resync
"""Everything the hub publishes: a run's events as they are, and the web app's own."""


@dataclass(eq=False)
class Subscription:
    """One reader of the hub, bound to the asyncio loop it reads from."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[HubEvent | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False
    """A ``Resync`` is in the queue, not read yet: what is dropped meanwhile is published
    before the reader takes it, so the reload it asks for comes after (and shows) the dropped
    events. Once it is read, an event with no room gets a ``Resync`` of its own again."""
    closed: bool = False

    def deliver(self, event: HubEvent | None) -> None:
        """Runs in the subscriber's loop; None closes the subscription."""
        if event is None:
            self.closed = True
        if event is None or self.queue.qsize() < MAX_PENDING:
            self.queue.put_nowait(event)
        elif not self.overflowed:
            self.overflowed = True
            self.queue.put_nowait(Resync())

    def _taken(self, event: HubEvent | None) -> HubEvent | None:
        """``event``, just taken from the queue by the reader."""
        if isinstance(event, Resync):
            self.overflowed = False
        return event

    async def events(self) -> AsyncIterator[HubEvent]:
        """The events published after subscribing, until the hub closes."""
        while (event := self._taken(await self.queue.get())) is not None:
            yield event

    async def get(self, timeout: float) -> HubEvent | None:
        """The next event, or None after ``timeout`` seconds or when closed (see ``closed``)."""
        if self.closed and self.queue.empty():
            return None
        try:
            return self._taken(await asyncio.wait_for(self.queue.get(), timeout))
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
