"""Environment commands refuse, before uv runs, what external code makes impossible (audit3 G2),
and a huge external folder is refused when added (audit3 G7); real uv, real local projects."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.envs.environments import EnvironmentService
from support.wheels import local_project


@pytest.fixture
def envs(chain: nodepipe.Workspace, offline_uv: Path) -> EnvironmentService:
    return chain.envs


def told(text: str) -> str:
    return "".join(text.split())  # rich wraps long paths anywhere


def project_files(code: Path) -> tuple[str, str]:
    return (code / "pyproject.toml").read_text(), (code / "uv.lock").read_text()


@pytest.mark.parametrize("kind", ["shared checkout", "local path"])
def test_env_commands_on_a_node_whose_external_project_is_gone_say_so_before_uv(
    chain: nodepipe.Workspace,
    envs: EnvironmentService,
    tmp_path: Path,
    cli: CliRunner,
    kind: str,
) -> None:
    project = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    if kind == "shared checkout":
        envs.add("plot", [], shared=str(project))
    else:
        envs.add("plot", [], path=str(project))
    envs.add("plot", ["toypkg==1.0"])
    code = chain.nodes.path("plot") / "code"
    before = project_files(code)
    project.rename(tmp_path / "src" / "moved")

    expected = told(
        f"external code is missing: {kind} mytool at {project}; restore it, or remove it "
        "from the node"
    )
    for args in (
        ["env", "sync", "plot"],
        ["env", "add", "plot", "otherpkg"],
        ["env", "lock", "plot"],
        ["env", "remove", "plot", "toypkg"],
    ):
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert expected in told(result.stderr), (args, result.stderr)
        assert "uv" not in result.stderr and "out of step" not in result.stderr
        assert project_files(code) == before  # nothing changed

    result = cli("env", "remove", "plot", "MyTool")  # the way out: remove the missing source
    assert result.code == 0, result
    assert "mytool" not in (code / "pyproject.toml").read_text()
    assert cli("env", "add", "plot", "otherpkg").code == 0  # and editing works again


def test_a_missing_code_path_refuses_package_edits_but_not_its_own_removal(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("X = 1\n")
    assert cli("env", "code-path", "add", "plot", str(scripts)).code == 0
    scripts.rename(tmp_path / "gone")
    code = chain.nodes.path("plot") / "code"
    before = (code / "pyproject.toml").read_text()

    result = cli("env", "add", "plot", "toypkg==1.0")
    assert result.code == 2
    assert told(f"external code is missing: code path {scripts} at {scripts}") in told(
        result.stderr
    )
    assert (code / "pyproject.toml").read_text() == before

    assert cli("env", "code-path", "remove", "plot", str(scripts)).code == 0
    assert cli("env", "add", "plot", "toypkg==1.0").code == 0
