"""Choosing workers without a shared filesystem: flags, nodepipe.toml, and what is refused.

Every refusal here comes before anything starts (no Ray is needed to see it) and leaves the
pipeline as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nodepipe
from nodepipe.cli.resume import resume_command
from nodepipe.services.runs.service import RunRequest
from support.worlds import CHAIN, build_pipeline

from .conftest import CliRunner


def set_config(ws: nodepipe.Workspace, extra: str) -> None:
    config = ws.root / "nodepipe.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")


def test_no_shared_fs_needs_the_ray_executor(lab: nodepipe.Workspace, cli: CliRunner) -> None:
    build_pipeline(lab, "baseline", CHAIN)

    result = cli("run", "baseline", "--no-shared-fs", "--storage", "bucket")

    assert result.code == 2, result
    assert "it needs the ray executor" in result.stderr
    assert lab.nodes.get("load").state is nodepipe.NodeState.READY
    assert not (lab.root / "bucket").exists()


def test_no_shared_fs_needs_a_storage(lab: nodepipe.Workspace, cli: CliRunner) -> None:
    build_pipeline(lab, "baseline", CHAIN)

    result = cli("run", "baseline", "--executor", "ray", "--no-shared-fs")

    assert result.code == 2, result
    assert "--storage" in result.stderr and "[storage] url" in result.stderr
    with lab.context.store.read() as session:
        assert not session.list_runs()


def test_nodepipe_toml_says_no_shared_fs(lab: nodepipe.Workspace, cli: CliRunner) -> None:
    """[execution] shared-fs = false applies to Ray runs; --shared-fs overrides it; a local run
    is unaffected; a bad value names the file."""
    build_pipeline(lab, "baseline", CHAIN)
    set_config(lab, "[execution]\nshared-fs = false\n")

    refused = cli("run", "baseline", "--executor", "ray")
    local = cli("run", "baseline", "--json")

    assert refused.code == 2 and "[storage] url" in refused.stderr
    assert local.code == 0, local
    assert lab.nodes.get("load").state is nodepipe.NodeState.COMPLETED

    set_config(lab, "[storage]\nurl = 7\n")
    broken = cli("status", "baseline")
    assert broken.code == 6 and "[storage] url a string" in broken.stderr


def test_settings_from_nodepipe_toml_are_read(tmp_path: Path) -> None:
    ws = nodepipe.init(tmp_path / "ws")
    try:
        set_config(ws, '[execution]\nshared-fs = false\n[storage]\nurl = "s3://team/outputs"\n')
    finally:
        ws.close()
    reopened = nodepipe.open(tmp_path / "ws")
    try:
        config = reopened.context.config
        assert config.shared_fs is False
        assert config.storage_url == "s3://team/outputs"
    finally:
        reopened.close()


def test_the_resume_command_keeps_the_remote_settings() -> None:
    request = RunRequest(
        "p", executor="ray", ray_address="10.0.0.1:6379", shared_fs=False, storage="s3://b/x"
    )
    command = resume_command(request, ["n1"], {"n1": "train"}, None)
    assert command.endswith(
        "--executor ray --ray-address 10.0.0.1:6379 --no-shared-fs --storage s3://b/x"
    )


def test_nodes_whose_environment_cannot_travel_are_refused_before_the_run(
    lab: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """Issue 14: an interpreter node, a shared-environment node and a node installing a
    folder from outside cannot go to a worker without the workspace: the run is refused before
    anything starts, naming each node and the fix."""
    build_pipeline(lab, "baseline", CHAIN)
    assert cli("env", "interpreter", "load", sys.executable).code == 0
    assert cli("shared-env", "new", "tools").code == 0
    assert cli("env", "use-shared", "clean", "tools").code == 0
    pyproject = lab.nodes.path("plot") / "code" / "pyproject.toml"
    checkout = tmp_path / "mytool"
    checkout.mkdir()
    pyproject.write_text(
        pyproject.read_text()
        + f'\n[tool.uv.sources]\nmytool = {{ path = "{checkout}", editable = true }}\n'
    )
    remote = ["--executor", "ray", "--no-shared-fs", "--storage", str(tmp_path / "bucket")]

    refused = cli("run", "baseline", *remote)

    said = " ".join(refused.stderr.split())
    assert refused.code == 2, refused
    assert f"load runs with the interpreter {Path(sys.executable).absolute()}" in said
    assert "clean uses the shared environment 'tools'" in said
    assert f"plot installs shared checkout mytool at {checkout}" in said
    assert "take a snapshot of it into the node instead" in said
    load, clean = (lab.nodes.get(tag, "baseline").id for tag in ("load", "clean"))
    assert f"`nodepipe env detach {load}`" in said  # the fix, as a command (by id: tags repeat)
    with lab.context.store.read() as session:
        assert not session.list_runs()
    assert all(n.state is nodepipe.NodeState.READY for n in lab.nodes.list("baseline"))

    assert cli("env", "detach", "load").code == 0  # the fix: its own environment travels
    again = " ".join(cli("run", "baseline", *remote).stderr.split())
    assert "clean uses the shared environment" in again and "load runs with" not in again
    assert f"`nodepipe env detach {clean}`" in again


def test_a_ray_that_cannot_be_reached_names_the_flag_in_the_cli(
    lab: nodepipe.Workspace, cli: CliRunner
) -> None:
    build_pipeline(lab, "baseline", CHAIN)

    refused = cli("run", "baseline", "--executor", "ray", "--ray-address", "bad address")

    said = " ".join(refused.stderr.split())
    assert refused.code == 2, refused
    assert "cannot connect to the Ray cluster at bad address" in said
    assert "`nodepipe run baseline --executor ray --ray-address HOST:PORT`" in said  # its name
    assert lab.nodes.get("load").state is nodepipe.NodeState.READY
