"""A pipeline's base packages never beat a node's own requirements (issue 14, finding 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.envs.environments import EnvironmentService


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
