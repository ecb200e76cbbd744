"""Edges and groups: connect (and the cycle refused with its nodes named), disconnect, groups."""

from __future__ import annotations

from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, ids
from integration.conftest import CliRunner, cli, snapshot

__all__ = ["cli"]  # the fixture: the CLI in this process

EDGES = "/api/pipelines/baseline/edges"
GROUPS = "/api/pipelines/baseline/groups"


def test_connect_uses_the_next_free_slot_or_the_one_asked(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    node_ids = ids(chain)
    edge = client.post(EDGES, json={"parent": "load", "child": "plot"})
    assert edge.status_code == 201
    assert edge.json() == {
        "parent_id": node_ids["load"],
        "child_id": node_ids["plot"],
        "slot": "02",
    }
    client.post("/api/pipelines/baseline/nodes", json={"tag": "extra"})
    named = client.post(EDGES, json={"parent": "extra", "child": "plot", "slot": "weather"})
    assert named.json()["slot"] == "weather"


def test_a_cycle_is_refused_naming_it_and_nothing_changes(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    node_ids = ids(chain)
    before = snapshot(chain)
    response = client.post(EDGES, json={"parent": "plot", "child": "load"})
    message = error_of(response, 409, "cycle")
    assert "cycle plot → load → clean → plot" in message
    assert response.json()["cycle"] == [
        node_ids["plot"],
        node_ids["load"],
        node_ids["clean"],
        node_ids["plot"],
    ]
    assert "load → load" in error_of(
        client.post(EDGES, json={"parent": "load", "child": "load"}), 409
    )
    assert snapshot(chain) == before


def test_connect_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    before = snapshot(chain)
    error_of(client.post(EDGES, json={"parent": "load", "child": "clean"}), 409, "conflict")
    error_of(client.post(EDGES, json={"parent": "load", "child": "plot", "slot": "01"}), 409)
    error_of(client.post(EDGES, json={"parent": "load", "child": "plot", "slot": "a/b"}), 422)
    error_of(client.post(EDGES, json={"parent": "nope", "child": "plot"}), 404)
    error_of(client.post(EDGES, json={"parent": "load"}), 422)
    chain.nodes.lock("plot")
    before = snapshot(chain)
    refused = client.post(EDGES, json={"parent": "load", "child": "plot"})
    error_of(refused, 409, "read_only")
    plot = ids(chain)["plot"]
    assert refused.json()["hint"] == {"action": "node.unlock", "params": {"node": plot}}
    assert "nodepipe" not in refused.json()["message"]  # no command for a web user
    assert snapshot(chain) == before


def test_disconnect(client: TestClient, chain: nodepipe.Workspace) -> None:
    node_ids = ids(chain)
    removed = client.delete(f"{EDGES}/clean/plot")
    assert removed.json()["slot"] == "01"
    graph = client.get("/api/pipelines/baseline").json()
    assert [(e["parent_id"], e["child_id"]) for e in graph["edges"]] == [
        (node_ids["load"], node_ids["clean"])
    ]
    before = snapshot(chain)
    assert "not an input" in error_of(client.delete(f"{EDGES}/clean/plot"), 404)
    error_of(client.delete(f"{EDGES}/nope/plot"), 404)
    assert snapshot(chain) == before


def test_groups_create_rename_collapse_add_remove_delete(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    node_ids = ids(chain)
    group = client.post(GROUPS, json={"name": "prep", "nodes": ["load"]}).json()
    assert (group["name"], group["collapsed"]) == ("prep", False)
    grown = client.patch(f"{GROUPS}/prep", json={"add_nodes": ["clean"], "collapsed": True})
    assert grown.json()["collapsed"] is True
    members = {
        n["tag"] for n in client.get("/api/pipelines/baseline").json()["nodes"] if n["group_id"]
    }
    assert members == {"load", "clean"}
    renamed = client.patch(f"{GROUPS}/{group['id']}", json={"name": "inputs"}).json()
    assert renamed["name"] == "inputs"
    client.patch(f"{GROUPS}/inputs", json={"remove_nodes": ["load"]})
    graph = client.get("/api/pipelines/baseline").json()
    assert [n["id"] for n in graph["nodes"] if n["group_id"]] == [node_ids["clean"]]
    assert [g["name"] for g in client.get(GROUPS).json()] == ["inputs"]
    assert client.delete(f"{GROUPS}/inputs").json()["name"] == "inputs"
    assert client.get(GROUPS).json() == []


def group_of(client: TestClient) -> dict[str, str | None]:
    """Each node's group, by name (None: in no group)."""
    graph = client.get("/api/pipelines/baseline").json()
    names = {g["id"]: g["name"] for g in graph["groups"]}
    return {n["tag"]: names.get(n["group_id"]) for n in graph["nodes"]}


def test_taking_out_of_a_group_a_node_that_is_not_in_it_is_refused_and_changes_nothing(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    client.post(GROUPS, json={"name": "prep", "nodes": ["load"]})
    client.post(GROUPS, json={"name": "show", "nodes": ["plot"]})
    before = snapshot(chain)
    message = error_of(client.patch(f"{GROUPS}/prep", json={"remove_nodes": ["plot"]}), 409)
    assert message == "cannot take 'plot' out of group 'prep': 'plot' is in group 'show'"
    message = error_of(
        client.patch(f"{GROUPS}/prep", json={"remove_nodes": ["load", "clean"]}), 409
    )
    assert message == "cannot take 'clean' out of group 'prep': 'clean' is in no group"
    # One PATCH is one change: a part refused (the new name is taken), no part is made.
    taken = {"remove_nodes": ["load"], "add_nodes": ["clean"], "name": "show"}
    error_of(client.patch(f"{GROUPS}/prep", json=taken), 409, "conflict")
    assert snapshot(chain) == before
    assert group_of(client) == {"load": "prep", "clean": None, "plot": "show"}

    assert client.patch(f"{GROUPS}/prep", json={"remove_nodes": ["load"]}).is_success
    assert group_of(client) == {"load": None, "clean": None, "plot": "show"}


def test_a_new_group_says_which_nodes_it_took_from_another_group(
    client: TestClient, chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """A node is in one group at most: a new group takes it from the one it was in and says
    so, on every surface, counting each node once."""
    node_ids = ids(chain)
    client.post(GROUPS, json={"name": "show", "nodes": ["plot"]})
    answer = client.post(GROUPS, json={"name": "prep", "nodes": ["load", "plot"]})
    assert answer.status_code == 201
    assert (answer.json()["name"], answer.json()["added"]) == (
        "prep",
        [
            {"node_id": node_ids["load"], "tag": "load", "moved_from": None},
            {"node_id": node_ids["plot"], "tag": "plot", "moved_from": "show"},
        ],
    )
    said = cli("-w", str(chain.root), "group", "new", "baseline", "other", "clean", "load", "load")
    assert (said.code, said.stdout.strip()) == (
        0,
        "grouped 2 nodes as other (load moved from prep)",
    )
    told = chain.groups.new("baseline", "last", ["plot"])  # the Python API's answer
    assert [(n.tag, n.moved_from) for n in told.added] == [("plot", "prep")]
    assert (told.name, told.group.name) == ("last", "last")
    assert group_of(client) == {"load": "other", "clean": "other", "plot": "last"}


def test_adding_to_a_group_says_what_was_added_moved_or_in_it_already(
    client: TestClient, chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    node_ids = ids(chain)
    client.post(GROUPS, json={"name": "prep", "nodes": ["load"]})
    show = client.post(GROUPS, json={"name": "show", "nodes": ["plot"]}).json()
    body = {"add_nodes": ["load", "clean", "plot"]}
    answer = client.patch(f"{GROUPS}/prep", json=body).json()
    assert answer["added"] == [
        {"node_id": node_ids["clean"], "tag": "clean", "moved_from": None},
        {"node_id": node_ids["plot"], "tag": "plot", "moved_from": "show"},
    ]
    assert answer["already_in"] == [
        {"node_id": node_ids["load"], "tag": "load", "moved_from": None}
    ]
    assert (answer["name"], answer["removed"]) == ("prep", [])
    assert group_of(client) == {"load": "prep", "clean": "prep", "plot": "prep"}

    client.patch(f"{GROUPS}/{show['id']}", json={"add_nodes": ["plot"]})
    said = cli("-w", str(chain.root), "group", "add", "baseline", "prep", "load", "clean", "plot")
    assert (said.code, said.stdout.strip()) == (
        0,
        "added 1 node to prep (plot moved from show); load, clean were already in prep",
    )
    said = cli("-w", str(chain.root), "group", "add", "baseline", "prep", "load")
    assert said.stdout.strip() == "load was already in prep"
    chain.groups.new("baseline", "other", ["plot"])
    told = chain.groups.add("baseline", "prep", ["plot", "load"])  # the Python API's answer
    assert [(n.tag, n.moved_from) for n in told.added] == [("plot", "other")]
    assert [n.tag for n in told.already_in] == ["load"]
    assert told.group.name == "prep"
    assert (told.name, told.id, told.collapsed) == ("prep", told.group.id, False)  # as before


def test_ungrouping_says_which_nodes_were_in_no_group_and_counts_only_the_others(
    client: TestClient, chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    node_ids = ids(chain)
    client.post(GROUPS, json={"name": "prep", "nodes": ["load"]})
    answer = client.post(f"{GROUPS}/ungroupings", json={"nodes": ["load", "plot"]}).json()
    assert answer == {
        "ungrouped": [{"node_id": node_ids["load"], "tag": "load", "group": "prep"}],
        "in_no_group": [{"node_id": node_ids["plot"], "tag": "plot", "group": None}],
    }
    graph = client.get("/api/pipelines/baseline").json()
    assert [n["tag"] for n in graph["nodes"] if n["group_id"]] == []

    said = cli("-w", str(chain.root), "group", "ungroup", "baseline", "clean")
    assert (said.code, said.stdout.strip()) == (0, "clean was in no group")
    chain.groups.new("baseline", "prep2", ["load", "clean"])
    said = cli("-w", str(chain.root), "group", "ungroup", "baseline", "load", "plot")
    assert said.stdout.strip() == "ungrouped 1 node; plot was in no group"
    told = chain.groups.ungroup("baseline", ["clean", "load"])  # the Python API's answer
    assert [(n.tag, n.group) for n in told.ungrouped] == [("clean", "prep2")]
    assert [(n.tag, n.group) for n in told.in_no_group] == [("load", None)]


def test_group_refusals_change_nothing(client: TestClient, chain: nodepipe.Workspace) -> None:
    client.post(GROUPS, json={"name": "prep", "nodes": ["load"]})
    before = snapshot(chain)
    error_of(client.post(GROUPS, json={"name": "prep", "nodes": ["clean"]}), 409, "conflict")
    error_of(client.post(GROUPS, json={"name": "x/y", "nodes": ["clean"]}), 422)
    error_of(client.post(GROUPS, json={"name": "x", "nodes": []}), 422)
    error_of(client.post(GROUPS, json={"name": "x", "nodes": ["nope"]}), 404)
    error_of(client.patch(f"{GROUPS}/nope", json={"collapsed": True}), 404)
    error_of(client.delete(f"{GROUPS}/nope"), 404)
    error_of(client.get("/api/pipelines/nope/groups"), 404)
    assert snapshot(chain) == before


def test_collapsing_is_allowed_on_a_locked_pipeline_but_editing_is_not(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    client.post(GROUPS, json={"name": "prep", "nodes": ["load"]})
    chain.pipelines.lock("baseline")
    assert client.patch(f"{GROUPS}/prep", json={"collapsed": True}).json()["collapsed"]
    error_of(client.patch(f"{GROUPS}/prep", json={"name": "x"}), 409, "read_only")
    error_of(client.delete(f"{GROUPS}/prep"), 409, "read_only")
