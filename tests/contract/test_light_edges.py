"""``connect``/``disconnect``'s queries through ``sqlite3`` answer and store exactly what
SQLAlchemy's do (so the two paths cannot drift).

Every ``EdgeWrites`` query the light path adds is asked of both on one store (the reads of a
run's claim are covered by ``test_light_read``); the same edits are then made through each in
two copies of one file and every table is compared raw. The whole commands, cycles, slots
and refusals included, run through ``Store.edge_write()`` in tests/integration/test_edges*.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from nodepipe.domain.model import Edge, Membership
from nodepipe.domain.states import NodeState
from nodepipe.store.light_edges import EdgeWrites, EdgeWriteSession, edge_write_session
from nodepipe.store.queries import StoreSession
from nodepipe.store.store import Store

from .test_light_read import filled  # noqa: F401 (a fixture)
from .test_light_write import dump
from .test_store_contract import CHAIN, Seeded, make_project, seed_pipeline


def edge_set(found: list[Edge]) -> set[Edge]:
    """Edges reached through a graph walk: the set matters, not the order rows came in."""
    assert len(set(found)) == len(found), "each edge once"
    return set(found)


def answers(session: EdgeWrites, chain: Seeded, diamond: Seeded) -> dict[str, Any]:
    """Every query ``EdgeWrites`` adds, with arguments that find something and nothing."""
    every_id = [*chain.ids.values(), *diamond.ids.values(), "nosuchnode"]
    middle = [diamond.ids["left"], chain.ids["clean"]]
    return {
        "pipeline": session.get_pipeline(diamond.id),
        "no pipeline": session.get_pipeline("nosuchpipeline"),
        "named": sorted(session.node_tags_named_any(["load", diamond.ids["join"], "nosuch"])),
        "named none": session.node_tags_named_any([]),
        "into": session.edges_into(every_id),
        "into one": session.edges_into([diamond.ids["join"]]),
        "below": edge_set(session.edges_below(middle)),
        "below roots": edge_set(session.edges_below([chain.ids["load"], diamond.ids["load"]])),
        "below none": session.edges_below([]),
        "above": edge_set(session.edges_above([diamond.ids["join"], chain.ids["train"]])),
        "above none": session.edges_above([]),
        "showing": session.pipelines_showing(every_id),
        "memberships": session.memberships_of(diamond.id, every_id),
        "memberships none": session.memberships_of(chain.id, []),
        "lowest": session.lowest_y(diamond.id),
        "lowest in a column": session.lowest_y(diamond.id, (-1.0, 1.0)),
        "lowest of nothing": session.lowest_y(diamond.id, (1e9, 2e9)),
    }


def test_the_light_edge_queries_answer_as_sqlalchemy_does(
    store: Store,
    filled: tuple[Seeded, Seeded],  # noqa: F811
) -> None:
    chain, diamond = filled
    with store.read() as session:
        expected = answers(session, chain, diamond)
    with store.edge_write() as light:
        got = answers(light, chain, diamond)
    if store.dialect == "sqlite":
        assert isinstance(light, EdgeWriteSession), "SQLite edits edges without SQLAlchemy"
    else:
        assert isinstance(light, StoreSession), "PostgreSQL edits them through SQLAlchemy"
    assert expected["into"] and expected["below"] and expected["memberships"], "found something"
    assert got == expected


def test_the_light_edge_writes_store_what_sqlalchemy_stores(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    store = Store.create(f"sqlite:///{first}")
    project = make_project()
    with store.write() as session:
        session.insert_project(project)
        chain = seed_pipeline(session, project, "chain", CHAIN)
        other = seed_pipeline(session, project, "other", {"solo": []})
    store.close()
    shutil.copyfile(first, second)

    def edited(session: EdgeWrites) -> int:
        session.insert_edges([Edge(chain.ids["load"], chain.ids["train"], "02")])
        session.insert_membership(Membership(other.id, chain.ids["train"], 240.5, 96.0))
        session.set_states({chain.ids["train"]: "input 02 connected to load"}, NodeState.STALE)
        return session.delete_edge(chain.ids["load"], chain.ids["clean"])

    store = Store.open(f"sqlite:///{first}")
    with store.write() as session:
        expected_deleted = edited(session)
    store.close()
    with edge_write_session(second) as light:
        deleted = edited(light)
    expected, got = dump(first), dump(second)
    assert deleted == expected_deleted == 1
    assert len(got["edges"]) == 2 and len(got["memberships"]) == 5, "the edits were made"
    assert got == expected
