"""One event type per event, one outcome enum: the store, the hub, the stream and the CLI agree.

Every ``RunOutcome`` leaves a node in one state whoever tells it; the stream's OpenAPI schema
is generated from the event types the hub publishes; ``nodepipe run --json`` prints the same
messages the stream sends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

import nodepipe
from api.coroutines import run_coroutine
from contract.test_store_contract import CHAIN, make_project, seed_pipeline
from contract.test_store_runs import claim
from nodepipe.api.openapi import openapi_document
from nodepipe.api.schemas.events import WorkspaceEvent
from nodepipe.domain.events import NodeFinished, NodeStarted, RunFinished
from nodepipe.domain.runs import RunOutcome, RunStatus, TaskOutcome
from nodepipe.domain.states import NodeState
from nodepipe.execution.recorder import StoreRecorder
from nodepipe.live.events import EventHub, HubEvent
from nodepipe.store.store import Store


def recorded_state(tmp_path: Path, outcome: TaskOutcome) -> NodeState:
    """The state the store recorder leaves a node in when its run ends with ``outcome``."""
    store = Store.create(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        with store.write() as session:
            project = make_project()
            session.insert_project(project)
            seeded = seed_pipeline(session, project, "chain", CHAIN)
        run, queued = claim(store, seeded)
        node_id, node_run_id = seeded.ids["load"], queued["load"].id
        ended = dataclasses.replace(outcome, node_run_id=node_run_id)
        recorder = StoreRecorder(store, previous_states={})
        recorder(NodeStarted(run.id, node_id, node_run_id, 42, "host"))
        recorder(NodeFinished.ended(run.id, node_id, ended))
        recorder(RunFinished(run.id, seeded.id, RunStatus.COMPLETED, 0, 0, 0, 0))
        with store.read() as session:
            node = session.get_node(node_id)
        assert node is not None
        return node.state
    finally:
        store.close()


def through_the_hub(event: HubEvent) -> HubEvent | None:
    """What a subscriber of the hub receives when ``event`` is published."""

    async def receive() -> HubEvent | None:
        hub = EventHub()
        subscription = hub.subscribe()
        await asyncio.to_thread(hub.publish, event)  # as a run does, from its own thread
        return await subscription.get(timeout=10)

    return run_coroutine(receive())


@pytest.mark.parametrize("outcome", list(RunOutcome))
def test_every_outcome_leaves_the_node_in_one_state_everywhere(
    outcome: RunOutcome, tmp_path: Path
) -> None:
    """Recorder, hub, stream and a watcher reading the store back: one state per outcome."""
    task = TaskOutcome("run-of-load", outcome, 1, "it ended so")
    finished = NodeFinished.ended("run", "load", task)

    stored = recorded_state(tmp_path, task)
    published = through_the_hub(finished)
    streamed = json.loads(WorkspaceEvent(finished).model_dump_json())
    read_back = RunOutcome.recorded_as(outcome.node_run_state)

    assert isinstance(published, NodeFinished)
    assert stored is published.state is read_back.node_state is outcome.node_state
    assert streamed["state"] == stored.value and streamed["outcome"]["status"] == outcome.value
    assert streamed["reason"] == task.reason


def hub_event_types() -> tuple[type, ...]:
    """The event types the hub can publish, read from ``EventHub.publish``'s signature."""
    return get_args(get_type_hints(EventHub.publish)["event"])


def stream_schema(document: dict[str, Any]) -> dict[str, Any]:
    responses = document["paths"]["/api/events"]["get"]["responses"]
    item = responses["200"]["content"]["text/event-stream"]["itemSchema"]
    name = item["properties"]["data"]["contentSchema"]["$ref"].rsplit("/", 1)[1]
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_the_stream_schema_lists_exactly_the_events_the_hub_publishes() -> None:
    document = openapi_document()
    union = stream_schema(document)
    discriminator = union["discriminator"]
    by_type = {kind.__dataclass_fields__["type"].default: kind for kind in hub_event_types()}

    assert discriminator["propertyName"] == "type"
    assert {t: ref.rsplit("/", 1)[1] for t, ref in discriminator["mapping"].items()} == {
        t: kind.__name__ for t, kind in by_type.items()
    }
    for type_name, kind in by_type.items():
        assert type_name == re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()
        properties = document["components"]["schemas"][kind.__name__]["properties"]
        assert set(properties) == {f.name for f in dataclasses.fields(kind)}


def test_run_json_prints_the_messages_the_stream_sends(chain: nodepipe.Workspace) -> None:
    cli = Path(sys.executable).parent / "nodepipe"
    ran = subprocess.run(
        [cli, "-w", str(chain.root), "run", "baseline", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    messages = [json.loads(WorkspaceEvent.model_validate(line).model_dump_json()) for line in lines]

    assert messages == lines
    assert [line["type"] for line in lines][:: len(lines) - 1] == ["run_started", "run_finished"]
    assert {line["state"] for line in lines if line["type"] == "node_finished"} == {"completed"}
    assert lines[-1]["status"] == "completed" and lines[-1]["completed"] == 3
