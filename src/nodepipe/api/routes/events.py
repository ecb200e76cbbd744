"""``/events``: the live event stream of the workspace (server-sent events).

One stream per open page. Each message's data is one ``WorkspaceEvent`` (its ``type`` says
which): runs starting, node states changing, runs ending, background jobs ending, and
``graph_changed`` after any change made through the API, so every page stays current
without polling. A page that (re)connects should reload what it shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from fastapi.sse import EventSourceResponse

from nodepipe.api.deps import HubDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.events import WorkspaceEvent, event_public

router = resource_router(tags=["events"])


@router.get("/events", response_class=EventSourceResponse)
async def events(hub: HubDep) -> AsyncIterable[WorkspaceEvent]:
    subscription = hub.subscribe()
    try:
        async for event in subscription.events():
            yield event_public(event)
    finally:
        hub.unsubscribe(subscription)
