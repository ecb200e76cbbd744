"""Choosing workers without a shared filesystem: flags, nodepipe.toml, and what is refused.

Every refusal here comes before anything starts (no Ray is needed to see it) and leaves the
pipeline as it was.
"""

from __future__ import annotations

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
