"""Node-run logs: the whole log of a run, or the live log of the current one as a stream.

The stream sends what the log holds, then what is appended while the node runs, and ends
with the node run's final state. It wakes on the run's events and re-reads the file a few
times a second (node processes write the file directly). It reads the file a chunk at a time
(``MAX_READ_BYTES``) and reads the next only once the client took the last: a client that
reads slowly, or a node that writes a huge log (or one line of megabytes), never makes the
server hold more than a chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse

from nodepipe.api.deps import HubDep, WorkspaceDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.events import LogChunkEvent, LogEndEvent
from nodepipe.api.schemas.runs import LogPublic
from nodepipe.domain.events import NodeFinished, NodeRunEvent, NodeSkipped
from nodepipe.domain.runs import ACTIVE_NODE_RUN_STATES, NodeRun, NodeRunState
from nodepipe.live.events import HubEvent, Subscription
from nodepipe.live.logs import LogTail, read_log
from nodepipe.services.workspace import Workspace

router = resource_router("/pipelines/{pipeline}/nodes/{node}", tags=["runs"], errors=(404,))

FILE_CHECK_SECONDS = 0.25
STORE_CHECK_SECONDS = 2.0
"""How often the stream re-reads the node run (for runs started by another process)."""


def node_run_with_log(
    pipeline: str, node: str, ws: WorkspaceDep, run: str | None = None
) -> NodeRun:
    """The node run whose log to show: the latest, or the one of ``run`` (an id or prefix)."""
    return ws.runs.log(node, run, pipeline)


LoggedRun = Annotated[NodeRun, Depends(node_run_with_log)]


@router.get("/log")
def get_log(node_run: LoggedRun) -> LogPublic:
    return LogPublic.model_validate(read_log(node_run))


@router.get("/log/stream", response_class=EventSourceResponse)
async def follow_log(
    node_run: LoggedRun, ws: WorkspaceDep, hub: HubDep
) -> AsyncIterable[LogChunkEvent | LogEndEvent]:
    """Server-sent events: ``chunk`` with text, then one ``end`` with the final state."""
    tail = LogTail(node_run.log_file)
    subscription = hub.subscribe()
    try:
        async for chunk in _new_text(tail, subscription):
            yield chunk
        state = node_run.state.value
        checked = time.monotonic()
        while state in ACTIVE_NODE_RUN_STATES and not subscription.closed:
            event = await subscription.get(FILE_CHECK_SECONDS)
            async for chunk in _new_text(tail, subscription):
                yield chunk
            if (ended := _ended(event, node_run.id)) is not None:
                state = ended.value
            elif time.monotonic() - checked > STORE_CHECK_SECONDS:
                state = await run_in_threadpool(_current_state, ws, node_run)
                checked = time.monotonic()
        async for chunk in _new_text(tail, subscription):
            yield chunk
        yield LogEndEvent(state=state)
    finally:
        hub.unsubscribe(subscription)


async def _new_text(tail: LogTail, subscription: Subscription) -> AsyncIterator[LogChunkEvent]:
    """What the log holds beyond what was sent, a chunk at a time (until the server stops)."""
    while not subscription.closed and (text := await run_in_threadpool(tail.read)):
        yield LogChunkEvent(text=text)


def _ended(event: HubEvent | None, node_run_id: str) -> NodeRunState | None:
    """The state ``event`` ends node run ``node_run_id`` in, if it ends it."""
    if not isinstance(event, NodeRunEvent) or event.node_run_id != node_run_id:
        return None
    if isinstance(event, NodeFinished):
        return event.outcome.status.node_run_state
    return NodeRunState.SKIPPED if isinstance(event, NodeSkipped) else None


def _current_state(ws: Workspace, node_run: NodeRun) -> str:
    fresh = next((nr for nr in ws.runs.node_runs(node_run.run_id) if nr.id == node_run.id), None)
    return fresh.state.value if fresh else "failed"
