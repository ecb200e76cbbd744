"""A pipeline's base packages never beat a node's own requirements (issue 14, finding 3)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.envs.environments import EnvironmentService
from support.worlds import CHAIN


@pytest.fixture
def envs(chain: nodepipe.Workspace, offline_uv: Path) -> EnvironmentService:
    return chain.envs


def test_a_nodes_own_pin_wins_and_survives_removing_the_base(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    envs.add("clean", ["toypkg==1.0"])
    chain.base_envs.add("baseline", ["toypkg==2.0", "otherpkg"])
    assert envs.show("clean").locked == {"otherpkg": "0.1", "toypkg": "1.0"}  # its own pin
    assert envs.show("load").locked == {"otherpkg": "0.1", "toypkg": "2.0"}
    assert envs.show("clean").origins == {"toypkg": "node", "otherpkg": "pipeline base"}
    assert envs.show("load").origins == {"toypkg": "pipeline base", "otherpkg": "pipeline base"}

    chain.base_envs.remove("baseline", ["toypkg"])
    assert envs.show("clean").locked == {"otherpkg": "0.1", "toypkg": "1.0"}  # still its own
    assert envs.show("load").locked == {"otherpkg": "0.1"}

    envs.add("load", ["otherpkg==0.1"])  # the node takes the package over from the base
    chain.base_envs.remove("baseline", ["otherpkg"])
    assert envs.show("load").locked == {"otherpkg": "0.1"}
    assert envs.show("plot").locked == {}
    shown = cli("env", "show", "load")
    assert shown.code == 0 and "from" in shown.stdout and "node" in shown.stdout


def test_new_nodes_know_their_base_packages(
    chain: nodepipe.Workspace, envs: EnvironmentService
) -> None:
    chain.base_envs.add("baseline", ["toypkg==1.0"])
    later = chain.nodes.new("baseline", "later")
    assert envs.show(later.id).origins == {"toypkg": "pipeline base"}
    chain.base_envs.remove("baseline", ["toypkg"])
    assert envs.show(later.id).locked == {}


def test_base_packages_name_the_nodes_they_cannot_reach_and_detach_gives_them(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """Audit2 F17: a node on a shared environment or an interpreter cannot get the base; the
    CLI line, the JSON (the API's) say so, and env detach gives it the base again."""
    chain.shared_envs.new("tools", ["otherpkg"])
    assert cli("env", "use-shared", "clean", "tools").code == 0
    assert cli("env", "interpreter", "plot", sys.executable).code == 0
    plot = chain.nodes.path("plot") / "code"
    pyproject = (plot / "pyproject.toml").read_text()
    added = cli("pipeline", "base-env", "baseline", "add", "toypkg==1.0")
    assert added.code == 0, added.stderr
    # not given indeed: the node on an interpreter was relocked and got a .venv of its own
    assert (plot / "pyproject.toml").read_text() == pyproject and not (plot / ".venv").exists()
    assert "not given to clean: it runs on shared environment tools" in added.stdout
    assert f"not given to plot: it runs with the interpreter {sys.executable}" in added.stdout
    assert "nodepipe env detach clean" in added.stdout and "load" not in added.stdout
    shown = cli("pipeline", "base-env", "baseline", "show", "--json").json()
    assert shown["packages"] == ["toypkg==1.0"]
    assert {(n["tag"], n["reason"]) for n in shown["not_given"]} == {
        ("clean", "it runs on shared environment tools"),
        ("plot", f"it runs with the interpreter {sys.executable}"),
    }

    detached = cli("env", "detach", "clean", "--json")
    assert detached.code == 0, detached.stderr
    assert detached.json()["locked"] == {"otherpkg": "0.1", "toypkg": "1.0"}  # base re-applied
    assert envs.show("clean").origins == {"otherpkg": "node", "toypkg": "pipeline base"}
    removed = cli("pipeline", "base-env", "baseline", "remove", "toypkg")
    assert removed.code == 0 and "clean" not in removed.stdout
    assert envs.show("clean").locked == {"otherpkg": "0.1"}  # from the base: removed with it


def test_a_node_made_on_a_shared_environment_gets_no_base_and_shows_the_shared_one(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """README, Base packages: a node on a shared environment cannot get the base. One made
    with `node new --shared-env` in a pipeline with a base got the base's pins written into
    its own pyproject.toml, so `env show` called toypkg 1.0 (the shared lock's) "requested as
    toypkg==2.0, from pipeline base" while `base-env show` said it was not given; `env show`
    and `node show` name the shared environment and list what it asks for."""
    chain.shared_envs.new("tools", ["toypkg==1.0"])
    chain.base_envs.add("baseline", ["toypkg==2.0", "otherpkg"])
    made = cli("node", "new", "baseline", "--tag", "quick", "--shared-env", "tools")
    assert made.code == 0, made.stderr
    shown = cli("env", "show", "quick", "--json").json()
    assert shown["isolation"] == "shared:tools" and shown["locked"] == {"toypkg": "1.0"}
    assert shown["direct"] == ["toypkg==1.0"] and shown["origins"] == {}  # the shared env's
    row = next(line for line in cli("env", "show", "quick").stdout.splitlines() if "toypkg" in line)
    assert [cell.strip() for cell in row.split("│")] == ["toypkg", "1.0", "toypkg==1.0"]
    base = cli("pipeline", "base-env", "baseline", "show", "--json").json()
    assert [n["tag"] for n in base["not_given"]] == ["quick"]
    node_shown = cli("node", "show", "quick")
    assert "uses the shared environment tools (not its own)" in node_shown.stdout

    detached = cli("env", "detach", "quick", "--json")  # the base comes with its own env
    assert detached.code == 0, detached.stderr
    assert detached.json()["locked"] == {"otherpkg": "0.1", "toypkg": "1.0"}
    assert envs.show("quick").origins == {"toypkg": "node", "otherpkg": "pipeline base"}
    assert "shared environment" not in cli("node", "show", "quick").stdout
    assert cli("env", "interpreter", "quick", sys.executable).code == 0
    node_shown = cli("node", "show", "quick")
    interpreter = Path(sys.executable).absolute()
    assert f"not isolated: runs with {interpreter} (no environment of its own)" in (
        node_shown.stdout
    )


def test_leaving_an_interpreter_gives_the_base_as_it_is_now(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    """README: `env detach` gives a node the base again, recorded as from the base. A node
    leaving an existing interpreter came back with its old requirements: the base's otherpkg,
    added while it was not given, was missing, and a base pin removed meanwhile stayed."""
    envs.add("plot", ["toypkg==1.0"])  # its own
    chain.base_envs.add("baseline", ["toypkg==2.0"])  # plot keeps its own pin
    assert cli("env", "interpreter", "plot", sys.executable).code == 0
    chain.base_envs.add("baseline", ["otherpkg"])  # not given to plot
    detached = cli("env", "detach", "plot", "--json")
    assert detached.code == 0, detached.stderr
    assert detached.json()["locked"] == {"otherpkg": "0.1", "toypkg": "1.0"}
    assert envs.show("plot").origins == {"toypkg": "node", "otherpkg": "pipeline base"}

    assert cli("env", "interpreter", "plot", sys.executable).code == 0
    chain.base_envs.remove("baseline", ["otherpkg"])  # not taken from plot meanwhile
    assert cli("env", "detach", "plot").code == 0
    assert envs.show("plot").locked == {"toypkg": "1.0"}  # gone with the base
    assert envs.show("plot").direct == ("toypkg==1.0",)


def test_removing_a_package_the_base_does_not_have_is_refused_as_env_remove_refuses(
    chain: nodepipe.Workspace, envs: EnvironmentService, cli: CliRunner
) -> None:
    refused = cli("pipeline", "base-env", "baseline", "remove", "toypkg")
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "pipeline 'baseline' has no base package toypkg: its base packages are none" in (
        " ".join(refused.stderr.split())
    )
    chain.base_envs.add("baseline", ["otherpkg"])
    envs.add("clean", ["toypkg"])  # a node's own package is not the base's to remove
    pyprojects = _pyprojects(chain)
    refused = cli("pipeline", "base-env", "baseline", "remove", "otherpkg", "toypkg")
    assert refused.code == 2
    words = " ".join(refused.stderr.split())
    assert "has no base package toypkg: its base packages are otherpkg" in words
    assert _pyprojects(chain) == pyprojects, "nothing was removed"
    assert chain.base_envs.show("baseline") == ("otherpkg",)
    assert cli("env", "remove", "load", "toypkg").code == 2  # as `env remove` refuses


def _pyprojects(ws: nodepipe.Workspace) -> dict[str, str]:
    folders = {tag: ws.context.layout.node_folder(ws.nodes.find(tag).id) for tag in CHAIN}
    return {tag: (folder.code / "pyproject.toml").read_text() for tag, folder in folders.items()}
