"""The workspace identity a store carries (``workspace_identity``), on SQLite and PostgreSQL:
none on a new store; the first claim wins and a later one reads it; a move records the new
folder, and only for the workspace the store belongs to."""

from __future__ import annotations

from collections.abc import Callable

from nodepipe.store.store import Store


def test_a_new_store_carries_no_identity(store: Store) -> None:
    assert store.identity() is None
    assert store.node_ids() == []


def test_the_first_claim_wins_and_every_opener_reads_it(
    open_store: Callable[[], Store],
) -> None:
    first, second = open_store(), open_store()
    assert first.claim_identity("id-of-a", "/work/a") == ("id-of-a", "/work/a")
    assert second.claim_identity("id-of-b", "/work/b") == ("id-of-a", "/work/a")
    assert second.identity() == ("id-of-a", "/work/a")
    assert open_store().identity() == ("id-of-a", "/work/a")


def test_a_move_records_the_new_folder_of_the_same_workspace_only(store: Store) -> None:
    store.claim_identity("id-of-a", "/work/a")
    store.record_root("id-of-b", "/work/b")
    assert store.identity() == ("id-of-a", "/work/a")
    store.record_root("id-of-a", "/work/moved")
    assert store.identity() == ("id-of-a", "/work/moved")
