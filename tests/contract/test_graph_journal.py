"""The graph's change journal (migration 0007, ``store.graph_journal``) on SQLite and PostgreSQL:
every committed write of a node, membership or edge names its node, whoever writes it (nodepipe's
sessions or plain SQL); a rolled-back write names nothing; the journal prunes itself and then says
it cannot tell, as it does for another epoch or too many changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nodepipe.domain.model import Edge, Membership
from nodepipe.domain.states import NodeState
from nodepipe.store.graph_journal import CHANGED_AT_MOST, Mark
from nodepipe.store.store import Store

from .test_store_contract import CHAIN, DIAMOND, Seeded, make_project, seed_pipeline

KEEP = 100_000  # migration 0007's


def seeded(store: Store) -> tuple[Seeded, Seeded]:
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
        return (
            seed_pipeline(session, project, "chain", CHAIN),
            seed_pipeline(session, project, "diamond", DIAMOND),
        )


def journal_rows(store: Store) -> sa.TextClause:
    """An insert of journal rows as the triggers write them (PostgreSQL's with their txid)."""
    txid = "txid_current()" if store.dialect == "postgresql" else "NULL"
    return sa.text(f"INSERT INTO graph_changes (node_id, txid) VALUES (:n, {txid})")


def since(store: Store, mark: Mark | None) -> tuple[Mark, frozenset[str] | None]:
    with store.light_read() as session:
        return session.graph_changes(mark)


def test_a_committed_write_names_its_nodes_and_a_rolled_back_one_nothing(store: Store) -> None:
    chain, diamond = seeded(store)
    mark, changed = since(store, None)
    assert changed is None  # no mark: the journal cannot say
    assert since(store, mark) == (mark, frozenset())
    with store.write() as session:
        session.update_node(chain.ids["clean"], notes="edited", state=NodeState.STALE)
        session.insert_edge(Edge(chain.ids["load"], chain.ids["train"], "02"))
        session.delete_membership(diamond.id, diamond.ids["right"])
    with pytest.raises(RuntimeError), store.write() as session:  # never committed
        session.update_node(diamond.ids["join"], notes="lost")
        raise RuntimeError("killed before the commit")
    after, changed = since(store, mark)
    assert changed == {chain.ids["clean"], chain.ids["train"], diamond.ids["right"]}
    assert since(store, after) == (after, frozenset())
    with store.write() as session:  # a node deleted: its edges' children are named too
        session.delete_node(chain.ids["load"])
    assert since(store, after)[1] == {chain.ids["load"], chain.ids["clean"], chain.ids["train"]}


def test_rows_written_with_plain_sql_are_journaled_too(store: Store) -> None:
    chain, diamond = seeded(store)
    mark, _ = since(store, None)
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE memberships SET x = 5 WHERE node_id = :n"), {"n": diamond.ids["left"]}
        )
        connection.execute(
            sa.text("UPDATE edges SET parent_id = :p WHERE child_id = :c"),
            {"p": chain.ids["load"], "c": chain.ids["train"]},
        )
    assert since(store, mark)[1] == {diamond.ids["left"], chain.ids["train"]}


def test_the_journal_says_it_cannot_tell_past_what_it_kept(store: Store) -> None:
    chain, _ = seeded(store)
    mark, _ = since(store, None)
    many = CHANGED_AT_MOST + 1
    # more changed nodes than worth reading by key
    rows = [{"n": f"n{i}"} for i in range(many)]
    with store.engine.begin() as connection:
        connection.execute(journal_rows(store), rows)
    assert since(store, mark)[1] is None
    mark, _ = since(store, None)
    with store.engine.begin() as connection:  # another store's journal: another epoch
        connection.execute(sa.text("UPDATE graph_changes_floor SET epoch = 'other'"))
    assert since(store, mark)[1] is None
    mark, _ = since(store, None)
    with store.write() as session:
        session.update_node(chain.ids["load"], notes="one")
    # pruned past the mark: the journal keeps its last KEEP rows, never more than a thousand over
    rows = [{"n": "filler"}] * (KEEP + 1500)
    with store.engine.begin() as connection:
        connection.execute(journal_rows(store), rows)
        kept = connection.execute(sa.text("SELECT count(*) FROM graph_changes")).scalar_one()
    assert KEEP <= kept <= KEEP + 1000
    assert since(store, mark)[1] is None
    fresh, _ = since(store, None)
    with store.write() as session:
        session.update_membership(chain.id, chain.ids["load"], x=1.5)
    assert since(store, fresh)[1] == {chain.ids["load"]}
    with store.engine.begin() as connection:  # the floor row deleted by hand
        connection.execute(sa.text("DELETE FROM graph_changes_floor"))
    assert since(store, since(store, None)[0])[1] is None


def test_a_membership_added_names_its_node(store: Store) -> None:
    chain, diamond = seeded(store)
    mark, _ = since(store, None)
    with store.write() as session:
        session.insert_membership(Membership(diamond.id, chain.ids["train"], x=1.0, y=2.0))
    assert since(store, mark)[1] == {chain.ids["train"]}
