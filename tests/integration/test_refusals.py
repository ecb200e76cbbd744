"""Bad input and forbidden changes: a clear message, a non-zero exit, and nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot


def test_cycle_is_refused_naming_it_and_changes_nothing(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    before = snapshot(chain)
    result = cli("connect", "plot", "load", "--pipeline", "baseline")
    assert result.code == 4
    assert "cycle plot → load → clean → plot" in result.stderr
    assert snapshot(chain) == before


def test_self_loop_is_a_cycle(chain: nodepipe.Workspace) -> None:
    with pytest.raises(nodepipe.CycleError, match="load → load"):
        chain.edges.connect("load", "load", "baseline")


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("a/b", "slash"),
        ("..", "'..'"),
        ("x..y", "'..'"),
        ("tab\there", "control character"),
        ("", "empty"),
        (" padded", "blank"),
    ],
)
def test_bad_names_are_refused_everywhere(
    chain: nodepipe.Workspace, cli: CliRunner, bad: str, why: str
) -> None:
    before = snapshot(chain)
    attempts = [
        ("node", "new", "baseline", "--tag", bad),
        ("pipeline", "new", bad),
        ("project", "new", bad),
        ("node", "rename", "clean", bad),
        ("pipeline", "branch", "baseline", "--from", "clean", "--name", bad),
        ("group", "new", "baseline", bad, "load"),
    ]
    for args in attempts:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert why in result.stderr, (args, result.stderr)
    assert snapshot(chain) == before


def test_unknown_names_suggest_the_closest(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    before = snapshot(chain)
    result = cli("node", "path", "claen")
    assert result.code == 3
    assert "no node 'claen'" in result.stderr and "did you mean 'clean'" in result.stderr
    result = cli("connect", "load", "plto", "--pipeline", "baseline")
    assert result.code == 3 and "did you mean 'plot'" in result.stderr
    result = cli("pipeline", "show", "baselin")
    assert result.code == 3 and "did you mean 'baseline'" in result.stderr
    result = cli("pipeline", "move", "baseline", "--project", "nowhere")
    assert result.code == 3 and "no project 'nowhere'" in result.stderr
    result = cli("node", "show", "zz99zz99")
    assert result.code == 3
    assert snapshot(chain) == before


def test_ambiguous_tag_lists_candidates_and_ids_work(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    original = chain.nodes.get("clean")
    (copy,) = chain.node_copies.duplicate(["clean"], "baseline", allow_duplicate_tag=True)
    result = cli("node", "path", "clean")
    assert result.code == 3
    assert original.id in result.stderr and copy.id in result.stderr
    assert cli("node", "path", copy.id).stdout.strip().endswith(copy.id)
    assert cli("node", "path", copy.id[:5]).stdout.strip().endswith(copy.id)


def test_locked_node_refuses_edit_and_delete(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    assert cli("node", "lock", "clean").code == 0
    before = snapshot(chain)
    refusals = [
        ("node", "params", "clean", "--set", "lr=0.1"),
        ("node", "rename", "clean", "scrub"),
        ("node", "clear-data", "clean"),
        ("node", "rm", "clean", "--pipeline", "baseline"),
        ("connect", "plot", "clean", "--pipeline", "baseline", "--slot", "extra"),
        ("disconnect", "load", "clean", "--pipeline", "baseline"),
        ("node", "mark", "clean", "completed"),
    ]
    clean = chain.nodes.get("clean").id
    for args in refusals:
        result = cli(*args)
        assert result.code == 5, (args, result.stderr)
        assert "locked" in result.stderr
        assert f"unlock it with `nodepipe node unlock {clean}`" in result.stderr
    assert snapshot(chain) == before
    assert cli("node", "unlock", "clean").code == 0
    assert cli("node", "params", "clean", "--set", "lr=0.1").code == 0


def test_locked_pipeline_refuses_changes(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    assert cli("pipeline", "lock", "baseline").code == 0
    before = snapshot(chain)
    for args in [
        ("node", "new", "baseline", "--tag", "more"),
        ("connect", "load", "plot", "--pipeline", "baseline"),
        ("node", "params", "load", "--set", "n=1"),
        ("pipeline", "rm", "baseline"),
        ("pipeline", "rename", "baseline", "renamed"),
    ]:
        result = cli(*args)
        assert result.code == 5, (args, result.stderr)
        assert "pipeline 'baseline' is locked" in result.stderr
        assert "unlock it with `nodepipe pipeline unlock baseline`" in result.stderr
    assert snapshot(chain) == before


def test_reference_is_read_only_where_it_is_referenced(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.pipelines.new("other")
    chain.node_copies.reference(["clean"], into="other", pipeline="baseline")
    before = snapshot(chain)
    result = cli("node", "params", "clean", "--set", "x=1", "--pipeline", "other")
    assert result.code == 5
    assert "reference in pipeline 'other'" in result.stderr
    clean = chain.nodes.get("clean").id
    assert f"detach it with `nodepipe node detach {clean} --pipeline other`" in result.stderr
    result = cli("disconnect", "load", "clean", "--pipeline", "other")
    assert result.code == 5
    assert snapshot(chain) == before


def test_malformed_parameters_change_nothing(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: pytest.TempPathFactory
) -> None:
    chain.nodes.set_params("clean", ["lr=0.1"])
    before = snapshot(chain)
    bad_yaml = chain.root.parent / "bad.yaml"
    bad_yaml.write_text("lr: [0.1, 0.2\n")
    result = cli("node", "params", "clean", "--file", str(bad_yaml))
    assert result.code == 2 and "malformed YAML" in result.stderr
    bad_yaml.write_text("- just\n- a list\n")
    result = cli("node", "params", "clean", "--file", str(bad_yaml))
    assert result.code == 2 and "must be a YAML mapping" in result.stderr
    result = cli("node", "params", "clean", "--set", "novalue")
    assert result.code == 2 and "expected name=value" in result.stderr
    assert snapshot(chain) == before
    assert chain.nodes.params("clean") == {"lr": 0.1}


def test_no_workspace_and_workspace_outside(
    tmp_path: pytest.TempPathFactory, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    monkeypatch.chdir(str(tmp_path))
    result = cli("pipeline", "list")
    assert result.code == 6 and "nodepipe init" in result.stderr
    result = cli("--workspace", str(tmp_path), "pipeline", "list")
    assert result.code == 6 and "no nodepipe workspace at" in result.stderr


def test_a_command_missing_what_it_acts_on_is_bad_input(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both exited as if a name were unknown (3) or the workspace bad (6)."""
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    made = cli("init", str(tmp_path / "lab"), "--python", str(tmp_path / "no-python"))
    assert made.code == 2 and "no Python interpreter at" in made.stderr
    assert not (tmp_path / "lab").exists()
    assert cli("init", str(tmp_path / "lab")).code == 0
    monkeypatch.chdir(tmp_path / "lab")
    killed = cli("kill")
    assert killed.code == 2 and "say which nodes to kill" in killed.stderr


def test_init_where_something_is_already_is_a_conflict_that_names_the_way_out(
    tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It exited 6, as if a workspace were missing or damaged."""
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("buy milk\n")
    refused = cli("init", str(folder))
    assert refused.code == 4
    assert f"{folder} is not empty (it holds todo.txt)" in refused.stderr
    assert f"a new or empty folder; name one, such as {folder / 'lab'}" in refused.stderr
    assert [p.name for p in folder.iterdir()] == ["todo.txt"]  # nothing made
    with pytest.raises(nodepipe.ConflictError, match="is not empty"):
        nodepipe.init(folder)
    a_file = cli("init", str(folder / "todo.txt"))
    assert a_file.code == 4 and "todo.txt is a file: name a new or empty folder" in a_file.stderr
    demo = cli("demo", str(folder))
    assert demo.code == 4 and f"{folder} is not empty (it holds todo.txt)" in demo.stderr
    assert f"name one, such as {folder / 'lab'}" in demo.stderr  # demo makes its workspace as init
    assert [p.name for p in folder.iterdir()] == ["todo.txt"]

    assert cli("init", str(folder / "lab")).code == 0
    again = cli("init", str(folder / "lab"))
    assert again.code == 4 and "is already a nodepipe workspace" in again.stderr
    nested = cli("init", str(folder / "lab" / "inner"))
    assert nested.code == 4 and "inside the workspace" in nested.stderr
    assert not (folder / "lab" / "inner").exists()
