"""The store contract for the inputs a pipeline declares as a bundle, on SQLite and PostgreSQL.

A pipeline remembers its ``[inputs]`` (input name → the nodes taking it) by node id: a node
renamed keeps them; a node deleted or taken out of the pipeline leaves them, and an input with
no node left is gone.
"""

from __future__ import annotations

import pytest

from nodepipe.store.store import Store

from .test_store_contract import CHAIN, Seeded, assert_refused, make_project, seed_pipeline


@pytest.fixture
def chain(store: Store) -> Seeded:
    """``chain`` (load → clean → train) declaring ``raw`` (clean, train) and ``labels`` (train)."""
    with store.write() as session:
        project = make_project()
        session.insert_project(project)
        seeded = seed_pipeline(session, project, "chain", CHAIN)
        session.set_pipeline_inputs(
            seeded.id,
            {"raw": [seeded.ids["train"], seeded.ids["clean"]], "labels": [seeded.ids["train"]]},
        )
    return seeded


def test_a_pipeline_remembers_its_inputs_by_node_id(store: Store, chain: Seeded) -> None:
    with store.read() as session:
        assert session.pipeline_inputs(chain.id) == {
            "labels": (chain.ids["train"],),
            "raw": tuple(sorted([chain.ids["clean"], chain.ids["train"]])),
        }
    with store.write() as session:
        session.update_node(chain.ids["train"], tag="fit")
    with store.read() as session:
        assert session.pipeline_inputs(chain.id)["labels"] == (chain.ids["train"],)


def test_setting_inputs_replaces_them_and_nothing_clears_them(store: Store, chain: Seeded) -> None:
    with store.write() as session:
        session.set_pipeline_inputs(chain.id, {"raw": [chain.ids["load"]]})
    with store.read() as session:
        assert session.pipeline_inputs(chain.id) == {"raw": (chain.ids["load"],)}
    with store.write() as session:
        session.set_pipeline_inputs(chain.id, {})
    with store.read() as session:
        assert session.pipeline_inputs(chain.id) == {}


def test_a_node_deleted_leaves_its_inputs_and_an_empty_input_is_gone(
    store: Store, chain: Seeded
) -> None:
    with store.write() as session:
        session.delete_node(chain.ids["train"])
    with store.read() as session:
        assert session.pipeline_inputs(chain.id) == {"raw": (chain.ids["clean"],)}


def test_a_node_taken_out_of_the_pipeline_leaves_its_inputs(store: Store, chain: Seeded) -> None:
    with store.write() as session:
        session.delete_membership(chain.id, chain.ids["clean"])
    with store.read() as session:
        assert session.pipeline_inputs(chain.id) == {
            "labels": (chain.ids["train"],),
            "raw": (chain.ids["train"],),
        }


def test_an_input_must_name_a_node_the_pipeline_shows(store: Store, chain: Seeded) -> None:
    with store.write() as session:
        project = make_project("elsewhere")
        session.insert_project(project)
        other = seed_pipeline(session, project, "other", {"solo": []})
    assert_refused(
        store, lambda session: session.set_pipeline_inputs(chain.id, {"raw": [other.ids["solo"]]})
    )
    with store.read() as session:
        assert session.pipeline_inputs(chain.id)["labels"] == (chain.ids["train"],)


def test_a_pipeline_deleted_takes_its_inputs_and_no_other_pipelines(
    store: Store, chain: Seeded
) -> None:
    """``view`` shows ``train`` of ``chain`` by reference and declares an input on it."""
    with store.write() as session:
        project = make_project("views")
        session.insert_project(project)
        view = seed_pipeline(session, project, "view", {}, shown={"train": chain.ids["train"]})
        session.set_pipeline_inputs(view.id, {"model": [chain.ids["train"]]})
    with store.read() as session:
        assert session.pipeline_inputs(view.id) == {"model": (chain.ids["train"],)}
    with store.write() as session:
        session.delete_pipeline(view.id)
    with store.read() as session:
        assert session.pipeline_inputs(view.id) == {}
        assert session.pipeline_inputs(chain.id)["labels"] == (chain.ids["train"],)


def test_inputs_handed_over_follow_the_node_that_took_a_place(store: Store, chain: Seeded) -> None:
    """``hand_over_inputs``: the inputs read before a change, declared again with each moved
    node replaced; a node the pipeline no longer shows is left out."""
    with store.write() as session:
        declared = session.pipeline_inputs(chain.id)
        session.delete_membership(chain.id, chain.ids["train"])
        session.delete_membership(chain.id, chain.ids["clean"])
        session.hand_over_inputs(chain.id, declared, {chain.ids["train"]: chain.ids["load"]})
    with store.read() as session:
        assert session.pipeline_inputs(chain.id) == {
            "labels": (chain.ids["load"],),
            "raw": (chain.ids["load"],),
        }
