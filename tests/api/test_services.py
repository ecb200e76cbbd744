"""The services added for the web app: the event hub, background jobs, log tails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import nodepipe
from api.coroutines import run_coroutine
from nodepipe.live.events import EventHub, GraphChanged, Resync
from nodepipe.live.jobs import JobOutcome, JobRunner, JobStatus
from nodepipe.live.logs import LogTail


def test_the_hub_hands_events_to_every_subscriber_until_closed() -> None:
    async def scenario() -> list[list[object]]:
        hub = EventHub()
        first, second = hub.subscribe(), hub.subscribe()
        hub.publish(GraphChanged("a"))
        await asyncio.to_thread(hub.publish, GraphChanged("b"))  # from another thread
        hub.close()
        return [[e async for e in s.events()] for s in (first, second)]

    got = run_coroutine(scenario())
    assert got == [[GraphChanged("a"), GraphChanged("b")]] * 2


def test_a_subscriber_that_falls_behind_is_told_to_resync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nodepipe.live.events.MAX_PENDING", 2)

    async def scenario() -> list[object]:
        hub = EventHub()
        subscription = hub.subscribe()
        for i in range(5):
            hub.publish(GraphChanged(str(i)))
        await asyncio.sleep(0)
        hub.close()
        return [e async for e in subscription.events()]

    assert run_coroutine(scenario()) == [GraphChanged("0"), GraphChanged("1"), Resync()]


def test_a_subscriber_that_read_its_resync_is_told_again_when_it_has_no_room_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The next event with no room after a ``Resync`` was read gets a ``Resync`` of its own:
    the page reloaded for the first one may have read the store before that event's change was
    committed (a run's ``node_finished``, then its ``run_finished`` with no room either left
    a page's card 'running' in tests/browser/test_live_missed.py)."""
    monkeypatch.setattr("nodepipe.live.events.MAX_PENDING", 0)  # no room at all

    async def scenario() -> list[object]:
        hub = EventHub()
        subscription = hub.subscribe()
        hub.publish(GraphChanged("node finished"))
        await asyncio.sleep(0)
        read = [await subscription.get(1)]
        hub.publish(GraphChanged("run finished"))  # the Resync was read: told again
        hub.publish(GraphChanged("dropped"))  # that second Resync is unread: it covers this
        await asyncio.sleep(0)
        hub.close()
        return read + [e async for e in subscription.events()]

    assert run_coroutine(scenario()) == [Resync(), Resync()]


def test_jobs_record_success_and_failure() -> None:
    runner = JobRunner(EventHub())
    ok = runner.submit("k", "works", lambda: JobOutcome("done", "p1", ("n1",)))
    assert runner.wait(ok.id, 10).status is JobStatus.SUCCEEDED
    assert ok.outcome == JobOutcome("done", "p1", ("n1",))

    def fail() -> JobOutcome:
        raise nodepipe.ConflictError("taken")

    bad = runner.wait(runner.submit("k", "fails", fail).id, 10)
    assert bad.status is JobStatus.FAILED and isinstance(bad.error, nodepipe.ConflictError)
    with pytest.raises(nodepipe.NotFoundError):
        runner.get("nope")
    runner.shutdown()


def test_log_tail_reads_only_what_was_added_and_never_splits_characters(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    tail = LogTail(log)
    assert tail.read() == ""
    log.write_bytes("héllo ".encode())
    assert tail.read() == "héllo "
    with log.open("ab") as handle:
        handle.write("wörld".encode()[:2])  # 'w' and half of 'ö'
    assert tail.read() == "w"
    with log.open("ab") as handle:
        handle.write("wörld".encode()[2:])
    assert tail.read() == "örld"
    big = LogTail(log, max_bytes=4)
    assert big.read() == "\ufffdrld" and big.truncated
