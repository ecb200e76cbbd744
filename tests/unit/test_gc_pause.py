"""The collector is off while a large view is built, and comes back after the last builder; a
short command keeps it off to its end, a run brings it back once its nodes start."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from nodepipe.services import gc_pause
from nodepipe.services.gc_pause import gc_paused, hold_off_for_command, resume_collector


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_views_in_threads_turn_it_back_on_only_after_the_last() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        first_in.wait()
        with gc_paused():
            second_in.set()
            first_out.wait()
            seen.append(gc.isenabled())  # the first view is done, this one is not
        seen.append(gc.isenabled())

    thread = threading.Thread(target=second)
    thread.start()
    with gc_paused():
        first_in.set()
        second_in.wait()
    first_out.set()
    thread.join(10)
    assert seen == [False, True]


def test_a_collector_turned_off_before_stays_off_and_an_error_still_ends_the_pause() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("the view failed")
    assert gc.isenabled()


def test_a_short_command_keeps_it_off_and_a_run_brings_it_back_past_what_it_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hold_off_for_command()  # the CLI run inside another program (a test): nothing changes
    assert gc.isenabled()
    monkeypatch.setattr(gc_pause, "_one_command", True)  # the nodepipe program
    hold_off_for_command()
    with gc_paused():  # a status computed, its answer still to print
        pass
    assert not gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        resume_collector()  # the run's nodes start
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen  # what it made so far: out of the passes
    finally:
        gc.unfreeze()
