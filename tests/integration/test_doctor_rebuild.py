"""`nodepipe doctor --rebuild`: a lost store is replaced by one holding what the node folders
hold (ids, tags, parameters, outputs, edges with their slots); the damaged file is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import nodepipe
from integration.conftest import CliRunner
from integration.test_store_opening import DAMAGES, checkpointed_store
from nodepipe.services.runs.service import RunRequest
from support.worlds import NodeSpec, build_pipeline

COPY_INPUTS = """\
import nodepipe_node as node
text = "".join((p.data_dir / "out.txt").read_text() for p in node.parents())
(node.data_dir() / "out.txt").write_text(text + node.tag() + str(node.params().get("n", "")) + ";")
"""


@pytest.fixture
def ran(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    """load → clean → plot, run once; clean has the parameter n=7."""
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(COPY_INPUTS)
    chain.nodes.set_params("clean", ["n=7"])
    chain.runs.run(RunRequest("baseline"))
    return chain


def graph(cli: CliRunner, pipeline: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    shown = cli("pipeline", "show", pipeline, "--json")
    assert shown.code == 0, shown.stderr
    view = shown.json()
    tags = {node["id"]: node["tag"] for node in view["nodes"]}
    edges = {(tags[e["parent_id"]], tags[e["child_id"]], e["slot"]) for e in view["edges"]}
    return tags, edges


@pytest.mark.parametrize("damage", ["deleted", "garbage-pages"])
def test_rebuild_brings_back_nodes_with_outputs_and_edges(
    ran: nodepipe.Workspace, cli: CliRunner, damage: str
) -> None:
    tags_before, edges_before = graph(cli, "baseline")
    plot_output = ran.nodes.path("plot") / "data" / "out.txt"
    assert plot_output.read_text() == "load;clean7;plot;"
    store = checkpointed_store(ran)
    DAMAGES[damage][0](store)
    damaged = store.read_bytes() if store.exists() else None

    rebuilt = cli("doctor", "--rebuild", "--json")
    assert rebuilt.code == 0, rebuilt.stderr
    aside = rebuilt.json()["moved_aside"]
    if damaged is None:
        assert aside is None
    else:
        assert Path(aside).read_bytes() == damaged
    tags, edges = graph(cli, "recovered")
    assert tags == tags_before and edges == edges_before
    assert plot_output.read_text() == "load;clean7;plot;"
    assert cli("node", "params", "clean", "--json").json()["params"] == {"n": 7}
    listed = {n["tag"]: n for n in cli("node", "list", "--json").json()}
    assert {n["state"] for n in listed.values()} == {"stale"}
    assert "outputs were kept" in listed["plot"]["state_reason"]
    assert "nodepipe" not in listed["plot"]["state_reason"]  # the web app shows it too
    for tag in ("load", "clean", "plot"):  # accepting the outputs: the fingerprints match
        assert cli("node", "mark", tag, "completed").code == 0
    states = cli("status", "recovered", "--json").json()["nodes"]
    assert {node["state"] for node in states} == {"completed"}
    assert cli("run", "recovered", "--json").code == 0
    assert plot_output.read_text() == "load;clean7;plot;"


def test_rebuild_refuses_a_sound_store_and_a_dry_run_changes_nothing(
    ran: nodepipe.Workspace, cli: CliRunner
) -> None:
    node_ids = sorted(n.id for n in ran.nodes.list())
    store = checkpointed_store(ran)
    refused = cli("doctor", "--rebuild")
    assert refused.code == 4 and "opens fine" in refused.stderr
    DAMAGES["garbage-header"][0](store)
    damaged = store.read_bytes()
    planned = cli("doctor", "--rebuild", "--dry-run", "--json")
    assert planned.code == 0, planned.stderr
    assert sorted(planned.json()["node_ids"]) == node_ids
    assert store.read_bytes() == damaged
    assert sorted(p.name for p in store.parent.glob("store*")) == ["store.sqlite"]


@pytest.mark.postgres
def test_rebuild_of_a_postgresql_database_without_tables(
    tmp_path: Path, fresh_postgres_url: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = nodepipe.init(tmp_path / "lab", store_url=fresh_postgres_url)
    copying = {"load": NodeSpec(code=COPY_INPUTS), "clean": NodeSpec(["load"], code=COPY_INPUTS)}
    build_pipeline(ws, "baseline", copying)
    ws.runs.run(RunRequest("baseline"))
    ws.close()
    with sa.create_engine(fresh_postgres_url).begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    monkeypatch.chdir(ws.root)
    rebuilt = cli("doctor", "--rebuild")
    assert rebuilt.code == 0, rebuilt.stderr
    assert graph(cli, "recovered")[1] == {("load", "clean", "01")}
