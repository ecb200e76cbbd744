"""What the Python API returns is what the CLI's ``--json`` prints: the same values (effective
states and their reasons included), read by the same schema (``cli.output.json_data``).

``test_same_json`` holds the CLI to the web API; this holds the Python API's answers to the
CLI's, for every read command, on one workspace in a state with something to say: a pipeline
run, then a node's code edited (stale, with its reason, and its child stale below it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import nodepipe
from nodepipe.cli.app import app as cli_app
from nodepipe.cli.output import json_data
from nodepipe.schemas import SchemaName

Ask = Callable[[nodepipe.Workspace, str], object]

READS: dict[str, tuple[tuple[str, ...], Ask, SchemaName]] = {
    "node list": (("node", "list", "-p", "t"), lambda ws, _: ws.nodes.list("t"), "NodePublic"),
    "node show": (
        ("node", "show", "b", "-p", "t"),
        lambda ws, _: ws.nodes.show("b", "t"),
        "NodeDetail",
    ),
    "node params": (
        ("node", "params", "a", "-p", "t"),
        lambda ws, _: ws.nodes.params("a", "t"),
        "ParamsPublic",
    ),
    "pipeline show": (
        ("pipeline", "show", "t"),
        lambda ws, _: ws.pipelines.show("t"),
        "PipelineGraph",
    ),
    "pipeline list": (("pipeline", "list"), lambda ws, _: ws.pipelines.list(), "PipelinePublic"),
    "project list": (("project", "list"), lambda ws, _: ws.projects.list(), "ProjectPublic"),
    "status": (("status", "t"), lambda ws, _: ws.runs.status("t"), "PipelineStatusPublic"),
    "runs": (("runs", "t"), lambda ws, _: ws.runs.history("t"), "RunPublic"),
    "runs --run": (
        ("runs", "--run", "{run}"),
        lambda ws, run: ws.runs.node_runs(run),
        "NodeRunPublic",
    ),
    "history": (("history", "t"), lambda ws, _: ws.run_history.page("t", 20), "RunHistoryPublic"),
    "env show": (
        ("env", "show", "a", "-p", "t"),
        lambda ws, _: ws.envs.show("a", "t"),
        "EnvironmentPublic",
    ),
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A pipeline a → b that ran, then a's code edited: the workspace and the run's id."""
    root = tmp_path_factory.mktemp("json") / "lab"
    with nodepipe.init(root) as ws:
        pipe = nodepipe.define("t")
        pipe.add("a", "print('a')\n", params={"k": 1})
        pipe.add("b", "print('b')\n", parents=["a"])
        ws.materialize(pipe)
        run_id = ws.runs.run(nodepipe.RunRequest("t")).run_id
        assert run_id is not None
        (ws.nodes.path("a", pipeline="t") / "code" / "main.py").write_text("print('a2')\n")
    yield root, run_id


@pytest.mark.parametrize("command", sorted(READS))
def test_the_python_api_answers_what_the_cli_prints(ran: tuple[Path, str], command: str) -> None:
    root, run_id = ran
    words, ask, schema = READS[command]
    words = tuple(word.replace("{run}", run_id) for word in words)
    printed = CliRunner().invoke(cli_app, ["-w", str(root), *words, "--json"])
    assert printed.exit_code == 0, printed.output
    with nodepipe.open(root) as ws:
        answered: Any = json_data(ask(ws, run_id), schema)
    assert answered == json.loads(printed.stdout)


def test_a_node_got_by_name_is_the_node_its_show_prints(ran: tuple[Path, str]) -> None:
    root, _ = ran
    printed = CliRunner().invoke(
        cli_app, ["-w", str(root), "node", "show", "b", "-p", "t", "--json"]
    )
    with nodepipe.open(root) as ws:
        node = ws.nodes.get("b", pipeline="t")
    assert node.state is nodepipe.NodeState.STALE  # below its edited parent, as status says
    assert json_data(node, "NodePublic") == json.loads(printed.stdout)["node"]
