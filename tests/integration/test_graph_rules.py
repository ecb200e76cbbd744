"""Rules a user relies on: nothing half-built, shared folders survive, staleness spreads."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.config import WorkspaceConfig, write_config


def test_failed_node_creation_leaves_no_folder_and_no_row(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    before = snapshot(chain)
    layout = chain.context.layout
    write_config(layout, WorkspaceConfig(chain.context.config.store_url, python="/bin/false"))
    with (
        nodepipe.open(chain.root) as broken,
        pytest.raises(nodepipe.EnvironmentBuildError, match="uv failed"),
    ):
        broken.nodes.new("baseline", "doomed")
    assert snapshot(chain) == before


def test_many_nodes_made_at_once_are_all_made_or_none(chain: nodepipe.Workspace) -> None:
    made = chain.nodes.new_many("baseline", ["m1", "m2", "m3"], notes="batch")
    assert [node.tag for node in made] == ["m1", "m2", "m3"]
    view = chain.pipelines.show("baseline")
    shown = {item.node.tag: (item.membership.x, item.membership.y) for item in view.nodes}
    assert {"m1", "m2", "m3"} <= set(shown)
    assert len(set(shown.values())) == len(shown), "two nodes on one spot"
    for node in made:
        code = chain.nodes.path(node.id) / "code"
        assert (code / "uv.lock").is_file() and (code / ".venv").is_dir()
        assert chain.nodes.find(node.id).notes == "batch"

    before = snapshot(chain)
    with pytest.raises(nodepipe.InvalidInputError, match="more than once: x"):
        chain.nodes.new_many("baseline", ["x", "y", "x"])
    with pytest.raises(nodepipe.ConflictError, match="already has a node tagged 'm2'"):
        chain.nodes.new_many("baseline", ["z", "m2"])
    layout = chain.context.layout
    write_config(layout, WorkspaceConfig(chain.context.config.store_url, python="/bin/false"))
    with (
        nodepipe.open(chain.root) as broken,
        pytest.raises(nodepipe.EnvironmentBuildError, match="uv failed"),
    ):
        broken.nodes.new_many("baseline", ["doomed1", "doomed2"])
    assert snapshot(chain) == before


def test_failed_duplicate_and_branch_leave_nothing(chain: nodepipe.Workspace) -> None:
    (chain.nodes.path("plot") / "code" / "uv.lock").unlink()  # plot can no longer be synced
    before = snapshot(chain)
    with pytest.raises(nodepipe.EnvironmentBuildError):
        chain.node_copies.duplicate(["clean", "plot"], "baseline")
    with pytest.raises(nodepipe.EnvironmentBuildError):
        chain.pipeline_copies.branch("baseline", "clean", "variant")
    assert snapshot(chain) == before


def test_removing_a_shared_node_keeps_its_folder(chain: nodepipe.Workspace) -> None:
    chain.pipelines.new("other")
    load = chain.nodes.find("load")
    chain.node_copies.reference(["load"], into="other", pipeline="baseline")
    report = chain.nodes.delete(["load"], "baseline")
    assert report.deleted == () and report.transferred == {load.id: "other"}
    assert chain.nodes.path(load.id).is_dir()
    assert chain.nodes.find(load.id).owner_pipeline_id == chain.pipelines.get("other").id
    clean = chain.nodes.find("clean", "baseline")
    assert chain.nodes.show(clean.id).inputs == ()  # the edge went with it
    chain.nodes.delete(["load"], "other")
    assert not chain.context.layout.node_dir(load.id).exists()


def test_input_change_makes_descendants_stale_in_every_pipeline(
    chain: nodepipe.Workspace,
) -> None:
    for tag in ("load", "clean", "plot"):
        chain.nodes.mark(tag, NodeState.COMPLETED)
    chain.pipeline_copies.branch("baseline", "plot", "variant")  # variant shows plot's copy
    chain.pipelines.new("viewer")
    chain.node_copies.reference(["plot"], into="viewer", pipeline="baseline")
    chain.nodes.new("baseline", "extra")
    chain.nodes.mark("extra", NodeState.COMPLETED)
    chain.edges.connect("extra", "clean", "baseline")
    clean, plot = chain.nodes.find("clean", "baseline"), chain.nodes.find("plot", "baseline")
    assert clean.state is NodeState.STALE and "input 02 connected to extra" in clean.state_reason
    assert plot.state is NodeState.STALE and plot.state_reason.startswith("upstream")
    viewer = chain.pipelines.show("viewer")
    assert {i.node.tag for i in viewer.nodes} == {"load", "extra", "clean", "plot"}
    assert viewer.node(plot.id).node.state is NodeState.STALE
    assert chain.nodes.find("load").state is NodeState.COMPLETED


def test_parameter_change_makes_node_and_descendants_stale(chain: nodepipe.Workspace) -> None:
    for tag in ("load", "clean", "plot"):
        chain.nodes.mark(tag, NodeState.COMPLETED)
    chain.nodes.set_params("clean", ["lr=0.1", "layers=[64, 32]"])
    assert chain.nodes.find("clean").state_reason == "parameter layers, lr changed"
    assert chain.nodes.find("plot").state is NodeState.STALE
    assert chain.nodes.find("load").state is NodeState.COMPLETED
    text = (chain.nodes.path("clean") / "code" / "params.yaml").read_text()
    assert "lr: 0.1" in text


def test_a_whole_parameter_text_is_kept_as_typed_and_comments_alone_change_nothing(
    chain: nodepipe.Workspace,
) -> None:
    chain.nodes.mark("clean", NodeState.COMPLETED)
    text = "# how fast it learns\nlr: 0.1  # by hand\n"
    chain.nodes.set_params("clean", replace_with=text)
    params_file = chain.nodes.path("clean") / "code" / "params.yaml"
    assert params_file.read_text() == text
    assert chain.nodes.show("clean").params_text == text
    assert chain.nodes.find("clean").state is NodeState.STALE
    chain.nodes.mark("clean", NodeState.COMPLETED)
    reworded = "# the learning rate\nlr: 0.1\n"
    chain.nodes.set_params("clean", replace_with=reworded)
    assert params_file.read_text() == reworded
    assert chain.nodes.find("clean").state is NodeState.COMPLETED  # no value changed


def test_detach_gives_private_copies_and_rewires_own_children(chain: nodepipe.Workspace) -> None:
    chain.pipeline_copies.branch("baseline", "plot", "variant")
    shared_clean = chain.nodes.find("clean", "baseline")
    (copy,) = chain.node_copies.detach(["clean"], "variant")
    variant = chain.pipelines.show("variant")
    assert shared_clean.id not in variant.node_ids and copy.id in variant.node_ids
    assert not variant.node(copy.id).is_reference
    plot_copy = next(i.node for i in variant.nodes if i.node.tag == "plot")
    assert [link.node_id for link in chain.nodes.show(plot_copy.id).inputs] == [copy.id]
    baseline_plot = chain.nodes.find("plot", "baseline")
    assert [link.node_id for link in chain.nodes.show(baseline_plot.id).inputs] == [shared_clean.id]
    with pytest.raises(nodepipe.ConflictError, match="plot already belongs to 'baseline'; nothing"):
        chain.node_copies.detach(["plot"], "baseline")


def test_groups_and_positions(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    assert cli("group", "new", "baseline", "prep", "load", "clean").code == 0
    assert cli("group", "collapse", "baseline", "prep").code == 0
    assert (
        cli("node", "place", "plot", "--pipeline", "baseline", "--x", "500", "--y", "40").code == 0
    )
    view = chain.pipelines.show("baseline")
    (group,) = view.groups
    assert group.name == "prep" and group.collapsed
    grouped = {i.node.tag for i in view.nodes if i.membership.group_id == group.id}
    assert grouped == {"load", "clean"}
    plot = next(i for i in view.nodes if i.node.tag == "plot")
    assert (plot.membership.x, plot.membership.y) == (500.0, 40.0)
    assert cli("group", "rename", "baseline", "prep", "prepare").code == 0
    assert cli("group", "new", "baseline", "prepare", "plot").code == 4
    assert cli("group", "rm", "baseline", "prepare").code == 0
    assert chain.pipelines.show("baseline").groups == ()
    assert len(chain.pipelines.show("baseline").nodes) == 3


@pytest.mark.parametrize("x", ["nan", "1e400", "-inf"])
def test_a_position_that_is_no_finite_number_is_refused(
    chain: nodepipe.Workspace, cli: CliRunner, x: str
) -> None:
    """NaN failed in the store ("the store failed", exit 9); an infinity was stored, and
    `pipeline show --json` then printed `Infinity`, which is no JSON."""
    before = snapshot(chain)
    placed = cli("node", "place", "plot", "--pipeline", "baseline", "--x", x, "--y", "40")
    assert placed.code == 2, placed.stderr
    assert "position of plot must be finite numbers" in placed.stderr
    assert snapshot(chain) == before
    with pytest.raises(nodepipe.InvalidInputError, match="must be finite numbers"):
        chain.nodes.place("plot", "baseline", float(x), 0.0)
    shown = cli("pipeline", "show", "baseline", "--json").stdout
    json.loads(shown, parse_constant=lambda name: pytest.fail(f"{name} is no JSON"))


def test_workspace_is_found_upwards_or_from_the_environment(
    chain: nodepipe.Workspace, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(chain.nodes.path("clean") / "code")
    assert cli("pipeline", "list", "--json").json()[0]["tag"] == "baseline"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NODEPIPE_WORKSPACE", str(chain.root))
    assert cli("node", "path", "plot").code == 0
    monkeypatch.delenv("NODEPIPE_WORKSPACE")
    assert cli("--workspace", str(chain.root), "node", "list", "--json").code == 0
    result = cli("init", str(chain.root / "nodes" / "nested"))
    assert result.code == 4 and "is inside the workspace" in result.stderr


def test_rename_annotate_and_mark_by_hand(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    assert cli("project", "rename", "climate", "weather").code == 0
    assert cli("pipeline", "notes", "baseline", "first try").code == 0
    assert cli("node", "notes", "load", "reads the csv").code == 0
    assert cli("node", "rename", "load", "ingest").code == 0
    assert chain.nodes.find("ingest").notes == "reads the csv"
    assert chain.pipelines.get("baseline").notes == "first try"
    result = cli("node", "mark", "plot", "stale")
    assert result.code == 4 and "never ran" in result.stderr
    assert cli("node", "mark", "ingest", "completed").code == 0
    assert cli("node", "mark", "clean", "completed").code == 0
    assert cli("node", "mark", "plot", "completed").code == 0
    assert cli("node", "mark", "ingest", "stale").code == 0
    assert chain.nodes.find("plot").state is NodeState.STALE
    shown = cli("node", "show", "clean", "--json").json()
    assert shown["node"]["state"] == "stale" and shown["inputs"][0]["tag"] == "ingest"


def test_a_pipeline_given_no_project_goes_to_default_even_once_default_was_renamed_or_deleted(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """Renaming the project ``default`` (the web app offers it) left every later pipeline
    without a home: "no project 'default'"."""
    assert cli("project", "rename", "default", "misc").code == 0
    made = cli("pipeline", "new", "scratch", "--json")
    assert made.code == 0, made.stderr
    assert made.json()["project_id"] == chain.projects.get("default").id
    assert cli("project", "show", "misc", "--json").json()["pipelines"] == []

    assert cli("pipeline", "rm", "scratch", "--yes").code == 0
    assert cli("project", "rm", "default").code == 0
    assert cli("bundle", "export", "baseline", str(tmp_path / "bundle")).code == 0
    imported = cli("bundle", "import", str(tmp_path / "bundle"), "--name", "again", "--json")
    assert imported.code == 0, imported.stderr
    assert imported.json()["pipeline"]["project_id"] == chain.projects.get("default").id


def _states(ws: nodepipe.Workspace) -> dict[str, tuple[str, tuple[str, ...]]]:
    status = ws.runs.status("baseline")
    return {view.item.node.tag: (view.state.value, view.reasons) for view in status.nodes.values()}


def test_outputs_accepted_by_hand_stay_completed_until_the_node_changes_again(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    main = chain.nodes.path("clean") / "code" / "main.py"
    main.write_text(main.read_text() + "# tidied\n")
    assert _states(chain)["clean"] == ("stale", ("code changed: main.py",))

    accepted = cli("node", "mark", "clean", "completed", "-p", "baseline")
    assert accepted.code == 0, accepted.stderr
    assert _states(chain) == {
        "load": ("completed", ()),
        "clean": ("completed", ()),
        "plot": ("completed", ()),
    }
    shown = cli("status", "baseline", "--json").json()
    assert {n["tag"]: n["state"] for n in shown["nodes"]} == dict.fromkeys(
        ("load", "clean", "plot"), "completed"
    )

    main.write_text(main.read_text() + "# tidied again\n")
    assert _states(chain)["clean"] == ("stale", ("code changed: main.py",))


def test_outputs_put_in_place_by_hand_and_accepted_are_what_children_read(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    chain.nodes.clear_data("load")
    assert _states(chain)["load"][0] == "ready"
    data = chain.nodes.path("load") / "data"
    data.mkdir(exist_ok=True)
    (data / "raw.csv").write_text("made by hand\n")

    assert cli("node", "mark", "load", "completed").code == 0
    states = _states(chain)
    assert states["load"] == ("completed", ())
    assert states["clean"][0] == "stale"
    assert any("load" in reason for reason in states["clean"][1]), states["clean"]
    chain.runs.run(RunRequest("baseline"))
    assert {state for state, _ in _states(chain).values()} == {"completed"}


def test_outputs_of_a_node_that_cannot_be_read_are_not_accepted(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    params = chain.nodes.path("clean") / "code" / "params.yaml"
    params.write_text("lr: [unclosed\n")
    before = snapshot(chain)
    refused = cli("node", "mark", "clean", "completed")
    assert refused.code != 0
    assert "cannot accept the outputs of 'clean'" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert snapshot(chain) == before


def test_outputs_a_run_replaced_while_they_were_read_are_not_accepted(
    chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.runs.run(RunRequest("baseline"))
    main = chain.nodes.path("clean") / "code" / "main.py"
    main.write_text(main.read_text() + "# tidied\n")
    from nodepipe.services.graph import nodes as node_service

    digest = node_service.fingerprint_outputs

    def read_while_a_run_completes(data: Path, cache: Path | None = None) -> str:
        found = digest(data, cache)
        chain.runs.run(RunRequest("baseline", only=["clean"]))  # the node re-runs meanwhile
        return found

    monkeypatch.setattr(node_service, "fingerprint_outputs", read_while_a_run_completes)
    with pytest.raises(nodepipe.ConflictError, match="changed while they were read"):
        chain.nodes.mark("clean", NodeState.COMPLETED)
    assert chain.nodes.find("clean").state_reason != "marked completed by hand"
    assert _states(chain)["clean"] == ("completed", ())  # as the run left it


def test_outputs_cleared_while_they_were_read_are_not_accepted(
    chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.runs.run(RunRequest("baseline"))
    from nodepipe.services.graph import nodes as node_service

    digest = node_service.fingerprint_outputs

    def read_while_they_are_cleared(data: Path, cache: Path | None = None) -> str:
        found = digest(data, cache)
        chain.nodes.clear_data("load")
        return found

    monkeypatch.setattr(node_service, "fingerprint_outputs", read_while_they_are_cleared)
    with pytest.raises(nodepipe.ConflictError, match="changed while they were read"):
        chain.nodes.mark("load", NodeState.COMPLETED)
    assert _states(chain)["load"][0] == "ready"


def test_accepting_outputs_holds_no_write_of_the_store_while_it_reads_them(
    chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.runs.run(RunRequest("baseline"))
    from nodepipe.services.graph import fingerprint_now

    fingerprint = fingerprint_now.fingerprint_node

    def read_while_another_writes(*args: Any, **kwargs: Any) -> Any:
        with nodepipe.open(chain.root) as other:  # another connection writes meanwhile
            other.pipelines.notes("baseline", "written while the code was read")
        return fingerprint(*args, **kwargs)

    monkeypatch.setattr(fingerprint_now, "fingerprint_node", read_while_another_writes)
    chain.nodes.mark("clean", NodeState.COMPLETED)
    assert chain.pipelines.get("baseline").notes == "written while the code was read"


def test_outputs_of_a_node_whose_code_cannot_be_read_are_not_accepted(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    params = chain.nodes.path("clean") / "code" / "params.yaml"  # a named pipe in its place
    params.unlink()  # (a link loop, used here before, is recorded by its target since)
    os.mkfifo(params)
    refused = cli("node", "mark", "clean", "completed")
    assert refused.code == 4, refused.stderr
    assert "cannot accept the outputs of 'clean'" in refused.stderr
    assert "nothing was changed" in refused.stderr


def test_a_node_marked_stale_then_completed_is_planned_as_its_status_shows(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    assert cli("node", "mark", "load", "stale").code == 0
    assert cli("node", "mark", "load", "completed").code == 0
    assert {state for state, _ in _states(chain).values()} == {"completed"}
    planned = cli("run", "baseline", "--dry-run", "--json").json()
    assert planned["run"] == []


def test_a_run_names_the_nodes_it_left_out_after_its_outcome(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.nodes.new("baseline", "other")
    assert cli("node", "lock", "load").code == 0  # never ran, and read-only: clean waits
    ran = cli("run", "baseline")
    assert ran.code == 0, ran.stderr
    said = " ".join(ran.stdout.split())  # as one line: long lines wrap
    outcome = said.index("completed: 1 completed")
    clean = said.index("blocked clean: parent 01 (load) has no outputs and is read-only here")
    plot = said.index("blocked plot: parent 01 (clean) is blocked")
    load = said.index("not run load: locked")
    assert outcome < clean < plot < load
    again = cli("run", "baseline")
    assert again.code == 0
    assert "nothing to run: 1 up to date, 1 read-only here, 2 blocked" in again.stdout
