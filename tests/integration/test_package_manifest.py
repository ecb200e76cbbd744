"""``package build --all`` and ``package pull --all`` from a real ``nodepipe.toml``."""

from __future__ import annotations

from pathlib import Path

import nodepipe
from integration.conftest import CliRunner, snapshot
from support.model_pipeline import outputs, trained_model

BUILDS = """
[package.model]
alias = "np-model"
version = "2.0"
destination = "out"
with-data = true

[package.train]
library = true
version = "2.0"
destination = "out"
"""


def test_build_all_then_pull_all_from_nodepipe_toml(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    trained_model(lab)
    config = lab.root / "nodepipe.toml"
    config.write_text(config.read_text() + BUILDS)
    built = cli("package", "build", "--all", "--json")
    assert built.code == 0, built.stderr
    assert [(b["name"], b["version"], b["with_data"]) for b in built.json()] == [
        ("np-model", "2.0", True),
        ("train", "2.0", False),
    ]
    out = lab.root / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "np_model-2.0-py2.py3-none-any.whl",
        "np_model-2.0.tar.gz",
        "train-2.0-py3-none-any.whl",
        "train-2.0.tar.gz",
    ]
    other = nodepipe.init(tmp_path / "other")
    other.projects.new("shared")
    other_config = other.root / "nodepipe.toml"
    other_config.write_text(
        other_config.read_text()
        + f'\n[pull."{out / "np_model-2.0-py2.py3-none-any.whl"}"]\nalias = "m1"\n'
        + f'\n[pull."{out / "np_model-2.0.tar.gz"}"]\nalias = "m2"\nproject = "shared"\n'
    )
    pulled = cli("-w", str(other.root), "package", "pull", "--all")
    assert pulled.code == 0, pulled.stderr
    assert "pulled" in pulled.stdout and "as pipeline m2 (2 nodes)" in pulled.stdout
    assert outputs(other, "m1") == outputs(other, "m2") == outputs(lab, "model")
    assert other.pipelines.get("m2").project_id == other.projects.get("shared").id
    again = cli("-w", str(other.root), "package", "pull", "--all", "--json")
    assert again.code == 0, again.stderr
    assert again.json()["pulled"] == [] and len(again.json()["skipped"]) == 2

    before = snapshot(other)
    other_config.write_text(other_config.read_text() + '\n[pull."x==1"]\naliass = "typo"\n')
    refused = cli("-w", str(other.root), "package", "pull", "--all")
    assert refused.code == 2
    assert "[pull.\"x==1\"]: unknown key 'aliass'" in refused.stderr.replace("\n", "")
    assert snapshot(other) == before
    other.close()
