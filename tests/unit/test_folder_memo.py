"""What the web app's kept node checks may keep, and when they are not trusted
(``workspace.folder_memo``): the rules that keep a view from showing a stale state."""

from __future__ import annotations

import time

import pytest

from nodepipe.workspace import folder_memo
from nodepipe.workspace.folder_memo import FolderMemo


def armed() -> FolderMemo:
    memo = FolderMemo()
    memo.arm(lambda: True)
    return memo


def test_nothing_is_kept_before_the_watcher_watches_nor_after_it_stopped() -> None:
    memo = FolderMemo()
    assert memo.ticket("a") is None and not memo.catch_up()
    memo.keep("a", memo.ticket("a"), "key", "check")
    assert memo.get("a", "key") is None

    memo.arm(lambda: True)
    memo.keep("a", memo.ticket("a"), "key", "check")
    assert memo.catch_up() and memo.get("a", "key") == "check"
    memo.disarm()
    assert memo.get("a", "key") is None and not memo.catch_up()


def test_a_check_that_began_before_its_node_changed_is_not_kept() -> None:
    memo = armed()
    ticket = memo.ticket("a")
    memo.changed(["a"])  # told while the check was reading the folder
    memo.keep("a", ticket, "key", "old check")
    assert memo.get("a", "key") is None
    memo.keep("a", memo.ticket("a"), "key", "new check")
    assert memo.get("a", "key") == "new check"


def test_a_change_drops_only_that_node_and_other_inputs_miss() -> None:
    memo = armed()
    for node in ("a", "b"):
        memo.keep(node, memo.ticket(node), "key", f"check {node}")
    memo.changed(["a"])
    assert memo.get("a", "key") is None and memo.get("b", "key") == "check b"
    assert memo.get("b", "other parents") is None  # a parent re-ran: its outputs differ


def test_a_view_that_cannot_catch_up_with_the_watcher_uses_nothing() -> None:
    memo = FolderMemo()
    memo.arm(lambda: False)  # the fence was not seen in time
    assert not memo.catch_up()


def test_checks_kept_under_an_earlier_watch_are_not_trusted_by_a_new_one() -> None:
    memo = armed()
    ticket = memo.ticket("a")
    memo.disarm()
    memo.arm(lambda: True)  # changes between the two watches went unseen
    memo.keep("a", ticket, "key", "check")
    assert memo.get("a", "key") is None


def test_the_nodes_told_changed_since_a_generation_and_none_across_arming() -> None:
    memo = armed()
    start = memo.generation
    assert memo.changed_since(start) == frozenset()
    memo.changed(["a", "b"])
    middle = memo.generation
    memo.changed(["c"])
    assert memo.changed_since(start) == {"a", "b", "c"}
    assert memo.changed_since(middle) == {"c"}
    assert memo.changed_since(memo.generation) == frozenset()
    memo.arm(lambda: True)  # the watcher started again: it may have missed anything
    assert memo.changed_since(middle) is None
    memo.disarm()
    assert memo.changed_since(memo.generation) is None


def test_changes_too_old_to_remember_are_answered_with_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(folder_memo, "TOLD_KEPT", 4)
    memo = armed()
    start = memo.generation
    memo.changed(["a", "b", "c"])
    recent = memo.generation
    memo.changed(["d", "e"])  # more than 4 told: the oldest are forgotten
    assert memo.changed_since(start) is None
    assert memo.changed_since(recent) == {"d", "e"}


def test_vouching_names_the_nodes_not_kept_and_the_oldest_kept_check() -> None:
    memo = armed()
    generation = memo.generation
    memo.keep("a", memo.ticket("a"), "key", "check")
    vouched = memo.vouching(["a", "b"], generation)
    assert vouched is not None
    until, unkept = vouched
    assert unkept == {"b"} and until > time.monotonic()
    assert memo.vouched_until(["a", "b"], generation) is None
    assert memo.vouched_until(["a"], generation) == until
    memo.changed(["a"])
    assert memo.vouching(["a"], generation) is None  # something changed since
    again = memo.vouching(["a"], memo.generation)
    assert again is not None and again[1] == {"a"}  # its check is no longer kept
