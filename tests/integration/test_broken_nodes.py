"""One broken node does not stop the others: pipeline ``split`` is ``a → b`` and an independent
``c``; ``a`` is broken by hand (a malformed pyproject.toml or params.yaml, or its folder
deleted). ``status`` still answers, ``run`` runs ``c`` and fails only ``a`` and what reads it."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from support.worlds import build_pipeline


def break_pyproject(folder: Path) -> str:
    (folder / "code" / "pyproject.toml").write_text("[project\nname = 'a'\n")
    return f"cannot read {folder / 'code' / 'pyproject.toml'}"


def save_pyproject_in_latin_1(folder: Path) -> str:
    """An editor that saved it in Latin-1: a comment with an é (TOML is UTF-8)."""
    pyproject = folder / "code" / "pyproject.toml"
    pyproject.write_bytes(pyproject.read_bytes() + "# café\n".encode("latin-1"))
    return f"cannot read {pyproject}: it is not UTF-8 text (byte 0xe9 at position"


def break_params(folder: Path) -> str:
    (folder / "code" / "params.yaml").write_text("lr: [0.1,\n")
    return f"malformed YAML in {folder / 'code' / 'params.yaml'}"


def save_pyproject_with_a_bom(folder: Path) -> str:
    """Notepad's UTF-8: a byte-order mark first (uv reads it; TOML has none)."""
    pyproject = folder / "code" / "pyproject.toml"
    pyproject.write_bytes(b"\xef\xbb\xbf" + pyproject.read_bytes())
    return f"cannot read {pyproject}: it starts with a byte-order mark (BOM)"


def save_params_in_latin_1(folder: Path) -> str:
    """Parameters saved in Latin-1: read leniently, the node would be given 'caf\ufffd'."""
    params = folder / "code" / "params.yaml"
    params.write_bytes("name: café\n".encode("latin-1"))
    return f"cannot read {params}: it is not UTF-8 text (byte 0xe9 at position"


def delete_folder(folder: Path) -> str:
    shutil.rmtree(folder)
    return f"its folder {folder} is missing"


BREAKAGES: dict[str, Callable[[Path], str]] = {
    "pyproject": break_pyproject,
    "pyproject-latin-1": save_pyproject_in_latin_1,
    "pyproject-bom": save_pyproject_with_a_bom,
    "params": break_params,
    "params-latin-1": save_params_in_latin_1,
    "folder": delete_folder,
}


@pytest.fixture
def split(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    """Pipeline ``split``: a → b, and c on its own; nothing ran yet."""
    build_pipeline(lab, "split", {"a": [], "b": ["a"], "c": []})
    return lab


@pytest.fixture(params=sorted(BREAKAGES))
def broken(request: pytest.FixtureRequest, split: nodepipe.Workspace) -> str:
    """``a`` broken one way; returns the start of the reason it must be reported with."""
    return BREAKAGES[request.param](split.nodes.path("a"))


def states(result: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """Tag -> state and reasons, from ``nodepipe status --json``."""
    return {item["tag"]: (item["state"], item["reasons"]) for item in result["nodes"]}


def test_status_reports_the_broken_node_and_checks_the_others(
    split: nodepipe.Workspace, broken: str, cli: CliRunner
) -> None:
    result = cli("status", "split", "--json")
    assert result.code == 0, result.stderr
    found = states(result.json())
    state, reasons = found["a"]
    assert state == "failed" and reasons[0].startswith(broken)
    state, reasons = found["b"]
    assert state == "ready" and reasons[-1].startswith(f"parent 01 (a) cannot run: {broken}")
    assert found["c"] == ("ready", ["never ran"])
    assert "Traceback" not in cli("status", "split", "--why").stderr


def test_run_runs_the_others_and_fails_the_broken_branch(
    split: nodepipe.Workspace, broken: str, cli: CliRunner
) -> None:
    result = cli("run", "split")
    assert result.code == 8, result.stderr
    assert "Traceback" not in result.stderr
    a, b, c = (split.nodes.get(tag) for tag in ("a", "b", "c"))
    assert c.state is NodeState.COMPLETED
    assert a.state is NodeState.FAILED and broken in a.state_reason
    assert b.state is NodeState.READY
    [run] = split.runs.history("split")
    skipped = {nr.node_id: nr.message for nr in split.runs.node_runs(run.id)}
    assert skipped[b.id] == "upstream a failed"


def test_run_only_another_node_runs_it(
    split: nodepipe.Workspace, broken: str, cli: CliRunner
) -> None:
    result = cli("run", "split", "c", "--only")
    assert result.code == 0, result.stderr
    assert split.nodes.get("c").state is NodeState.COMPLETED
    assert split.nodes.find("a").state is NodeState.READY  # as recorded: the run left it
    plan = cli("run", "split", "b", "--only", "--dry-run", "--json").json()
    assert plan["run"] == []
    [blocked] = plan["blocked"]
    assert blocked["reasons"][0].startswith(f"parent 01 (a) cannot run: {broken}")


def test_a_run_says_what_it_left_out_and_why(
    split: nodepipe.Workspace, broken: str, cli: CliRunner
) -> None:
    planned = cli("run", "split", "b", "--dry-run")
    assert planned.code == 0, planned.stderr
    assert "nothing to run: 1 blocked" in planned.stdout, planned.stdout
    assert "up to date" not in planned.stdout
    assert "blocked b: parent 01 (a) cannot run" in planned.stdout
    ran = cli("run", "split", "b")
    assert ran.code == 0, ran.stderr
    assert "nothing to run: 1 blocked" in ran.stdout and "blocked b:" in ran.stdout
    assert split.runs.history("split") == []  # nothing claimed
    as_json = cli("run", "split", "b", "--json")
    assert as_json.code == 0
    assert json.loads(as_json.stdout)["type"] == "nothing_to_run"
    assert cli("run", "split", "c").code == 0
    again = cli("run", "split", "c")
    assert again.code == 0
    assert "nothing to run: 1 up to date" in again.stdout, again.stdout


def test_the_python_api_agrees(split: nodepipe.Workspace, broken: str) -> None:
    status = split.runs.status("split")
    by_tag = {item.item.node.tag: item for item in status.nodes.values()}
    assert by_tag["a"].state is NodeState.FAILED and by_tag["a"].problem is not None
    assert by_tag["a"].problem.startswith(broken)
    ran = split.runs.run(RunRequest("split", only=["c"]))
    assert ran.finished is not None and ran.finished.status == "completed"
    ran = split.runs.run(RunRequest("split"))
    assert ran.finished is not None
    assert (ran.finished.completed, ran.finished.failed, ran.finished.skipped) == (0, 1, 1)


def test_a_completed_node_that_breaks_turns_failed_and_its_children_stale(
    split: nodepipe.Workspace, cli: CliRunner
) -> None:
    assert cli("run", "split").code == 0
    reason = break_pyproject(split.nodes.path("a"))
    found = states(cli("status", "split", "--json").json())
    assert found["a"][0] == "failed" and found["a"][1][0].startswith(reason)
    assert found["b"][0] == "stale"
    assert found["c"] == ("completed", [])


def test_commands_on_a_node_whose_folder_is_gone_answer_with_an_error(
    split: nodepipe.Workspace, cli: CliRunner
) -> None:
    assert cli("run", "split").code == 0
    folder = split.nodes.path("a")
    delete_folder(folder)
    for args, code, message in [
        (("logs", "a"), 3, "is gone (was the node's folder removed?)"),
        (("node", "params", "a", "--set", "x=1"), 6, f"the folder of node {folder.name}"),
        (("env", "show", "a"), 2, f"cannot read {folder / 'code' / 'pyproject.toml'}"),
    ]:
        result = cli(*args)
        assert (result.code, "Traceback" in result.stderr) == (code, False), args
        assert message in result.stderr, args
    assert not folder.exists()
    assert cli("node", "show", "a").code == 0


def test_an_unresolvable_inline_dependency_fails_only_its_node(
    split: nodepipe.Workspace, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14, finding 7: the node whose PEP 723 packages cannot be had fails, named, and
    `logs` shows why; what reads it is skipped, the independent node runs."""
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    assert cli("run", "split").code == 0  # a first good run, whose log must not be shown again
    main = split.nodes.path("a") / "code" / "main.py"
    main.write_text('# /// script\n# dependencies = ["nosuchpkg==1.0"]\n# ///\n' + main.read_text())
    result = cli("run", "split", "--force")
    assert result.code == 8, result.stdout + result.stderr
    a, b, c = (split.nodes.get(tag) for tag in ("a", "b", "c"))
    assert c.state is NodeState.COMPLETED
    assert a.state is NodeState.FAILED
    assert "inline script packages (PEP 723)" in a.state_reason and "nosuchpkg" in a.state_reason
    assert "hint:" not in a.state_reason  # uv's own advice is not nodepipe's
    messages = {
        nr.message
        for run in split.runs.history("split")
        for nr in split.runs.node_runs(run.id)
        if nr.node_id == b.id
    }
    assert "upstream a failed" in messages
    logs = cli("logs", "a")
    assert "could not prepare" in logs.stdout and "nosuchpkg" in logs.stdout
    said = logs.stdout.partition("--- what uv said:")[2]  # uv's full text, hints and all
    assert "nosuchpkg" in said and "hint" in said.lower(), logs.stdout


def test_a_node_whose_failure_cannot_be_cleaned_up_still_ends_and_the_run_with_it(
    split: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run waits for every node it handed out: a node nodepipe could not run must end even
    when removing what it staged fails too (a disk gone read-only, out of descriptors), or the
    run waited for ever. The removal's failure is injected: it cannot be made for real here."""
    pyproject = split.nodes.path("a") / "code" / "pyproject.toml"
    missing = '[tool.nodepipe]\ncommand = ["no-such-program-here"]\n'  # its launch fails
    pyproject.write_text(pyproject.read_text().replace("[tool.nodepipe]\n", missing, 1))

    def cannot_remove(*_: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("nodepipe.execution.task.discard", cannot_remove)
    ended: list[Any] = []
    running = threading.Thread(
        target=lambda: ended.append(split.runs.run(RunRequest("split")).finished), daemon=True
    )
    running.start()
    running.join(120)
    assert ended, "the run never ended"
    assert ended[0].failed == 1 and ended[0].completed == 1
    assert split.nodes.get("a").state is NodeState.FAILED
    (said,) = (
        nr.message
        for run in split.runs.history("split")
        for nr in split.runs.node_runs(run.id)
        if nr.node_id == split.nodes.get("a").id
    )
    assert "no-such-program-here" in said and "could not be removed: [Errno 30]" in said, said
