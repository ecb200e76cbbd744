"""One effective state everywhere (issue 14, finding 6): `status`, `pipeline show`, `node list`
and `node show` (and the API, which prints the same JSON) show the computed state and reasons,
each reason once, none left over from an earlier change."""

from __future__ import annotations

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.runs.service import RunRequest


def every_surface(cli: CliRunner, tag: str) -> dict[str, tuple[str, str]]:
    """(state, reason) of node ``tag`` as each command shows it with --json."""
    status = {n["tag"]: n for n in cli("status", "baseline", "--json").json()["nodes"]}
    graph = {n["tag"]: n for n in cli("pipeline", "show", "baseline", "--json").json()["nodes"]}
    listed = {n["tag"]: n for n in cli("node", "list", "--json").json()}
    in_pipeline = {n["tag"]: n for n in cli("node", "list", "-p", "baseline", "--json").json()}
    shown = cli("node", "show", tag, "--json").json()["node"]
    return {
        "status": (status[tag]["state"], "; ".join(status[tag]["reasons"])),
        "pipeline show": (graph[tag]["state"], graph[tag]["state_reason"]),
        "node list": (listed[tag]["state"], listed[tag]["state_reason"]),
        "node list -p": (in_pipeline[tag]["state"], in_pipeline[tag]["state_reason"]),
        "node show": (shown["state"], shown["state_reason"]),
    }


def test_a_code_edit_shows_stale_on_every_surface(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    main = chain.nodes.path("clean") / "code" / "main.py"
    main.write_text(main.read_text() + "\n# edited\n")
    assert set(every_surface(cli, "clean").values()) == {("stale", "code changed: main.py")}
    assert set(every_surface(cli, "plot").values()) == {("stale", "parent 01 (clean) is stale")}
    assert "stale" in cli("pipeline", "show", "baseline").stdout
    assert "code changed: main.py" in cli("node", "show", "clean").stdout


def test_no_reason_lingers_and_none_is_printed_twice(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    assert cli("node", "params", "clean", "--set", "n=2").code == 0
    assert set(every_surface(cli, "clean").values()) == {("stale", "parameter n added")}
    assert cli("node", "params", "clean", "--unset", "n").code == 0  # undone: matches again
    assert set(every_surface(cli, "clean").values()) == {("completed", "")}
    assert set(every_surface(cli, "plot").values()) == {("completed", "")}
    assert cli("node", "mark", "plot", "stale").code == 0  # by hand: the one stored reason kept
    assert set(every_surface(cli, "plot").values()) == {("stale", "marked stale by hand")}


def _stale_below_an_edit(chain: nodepipe.Workspace) -> None:
    chain.runs.run(RunRequest("baseline"))
    main = chain.nodes.path("load") / "code" / "main.py"
    main.write_text(main.read_text() + "\n# edited\n")


BELOW = ("stale", "parent 01 (load) is stale")


def test_an_edit_answers_the_effective_state_in_python(chain: nodepipe.Workspace) -> None:
    """``rename``, ``annotate`` and ``set_locked`` answered the stored ``completed``."""
    _stale_below_an_edit(chain)
    answers = {
        "rename": chain.nodes.rename("clean", "tidy", "baseline"),
        "annotate": chain.nodes.notes("tidy", "notes", "baseline"),
        "lock": chain.nodes.lock("tidy", "baseline"),
        "unlock": chain.nodes.unlock("tidy", "baseline"),
    }
    for node in answers.values():
        assert (node.state.value, node.state_reason) == BELOW
    assert answers["rename"].tag == "tidy" and answers["annotate"].notes == "notes"
    assert answers["lock"].locked and not answers["unlock"].locked
    assert chain.nodes.find("tidy").state is nodepipe.NodeState.COMPLETED  # as stored


def test_an_edit_answers_the_effective_state_with_json(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    _stale_below_an_edit(chain)
    for command in (
        ("rename", "clean", "tidy"),
        ("notes", "tidy", "notes"),
        ("lock", "tidy"),
        ("unlock", "tidy"),
    ):
        answer = cli("node", *command, "--json")
        assert answer.code == 0, answer.stderr
        assert (answer.json()["state"], answer.json()["state_reason"]) == BELOW


def test_a_mark_or_a_clearing_answers_the_effective_state(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """``mark`` and ``clear_data`` answered the state they stored ("marked completed by hand"
    under a stale parent; "outputs cleared" on a ready node whose parent is stale), where
    ``get``, the other edits and every surface give the computed one."""
    _stale_below_an_edit(chain)
    accepted = chain.nodes.mark("plot", nodepipe.NodeState.COMPLETED, "baseline")
    assert (accepted.state.value, accepted.state_reason) == ("stale", "parent 01 (clean) is stale")
    outdated = chain.nodes.mark("clean", nodepipe.NodeState.STALE, "baseline")
    assert (outdated.state.value, outdated.state_reason) == (
        "stale",
        "marked stale by hand; parent 01 (load) is stale",
    )
    got = chain.nodes.get("clean")
    assert (outdated.state, outdated.state_reason) == (got.state, got.state_reason)
    cleared = chain.nodes.clear_data("clean", "baseline")
    assert (cleared.state.value, cleared.state_reason) == (
        "ready",
        "never ran; parent 01 (load) is stale",
    )
    marked = cli("node", "mark", "plot", "completed", "--json")
    assert marked.code == 0, marked.stderr
    assert (marked.json()["state"], marked.json()["state_reason"]) == every_surface(cli, "plot")[
        "node show"
    ]
    assert cli("node", "mark", "plot", "completed").stdout.startswith("plot is now stale")
    answer = cli("node", "clear-data", "clean", "--yes", "--json")
    assert answer.code == 0, answer.stderr
    assert set(every_surface(cli, "clean").values()) == {
        (answer.json()["state"], answer.json()["state_reason"])
    }
