"""``/events``: the live event stream of the workspace (server-sent events).

One stream per open page. Each message's data is one hub event as it is (``WorkspaceEvent``;
its ``type`` says which): a run's own events (started, a node submitted, started, finished or
skipped, finished), a run that crashed, background jobs finishing, and ``graph_changed`` after
any change made through the API, so every page stays current without polling. A page that
(re)connects should reload what it shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from fastapi.sse import EventSourceResponse

from nodepipe.api.deps import HubDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.events import WorkspaceEvent

router = resource_router(tags=["events"])


@router.get("/events", response_class=EventSourceResponse)
async def events(hub: HubDep) -> AsyncIterable[WorkspaceEvent]:
    subscription = hub.subscribe()
    try:
        async for event in subscription.events():
            yield WorkspaceEvent(event)
    finally:
        hub.unsubscribe(subscription)
