"""A bundle's inputs declared at export (``bundle export --input NAME=NODE``): written to
``pipeline.toml``, kept by every re-export, fed by whoever includes the bundle."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner


def test_an_export_declares_the_inputs_an_includer_feeds(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    library = tmp_path / "library" / "features"
    exported = cli("bundle", "export", "baseline", str(library), "--input", "raw=load")
    assert exported.code == 0, exported.stderr
    written = (library / "pipeline.toml").read_bytes()
    assert tomllib.loads(written.decode())["inputs"] == {"raw": ["load"]}
    assert cli("bundle", "check", str(library)).code == 0
    again = cli("bundle", "export", "baseline", str(library), "--force", "--input", "raw=load")
    assert again.code == 0, again.stderr
    assert (library / "pipeline.toml").read_bytes() == written  # a re-export keeps them

    chain.pipelines.new("alpha")
    prep = chain.nodes.new("alpha", "prep")
    included = cli(
        "pipeline", "include", "alpha", str(library), "--as", "feat", "--input", "raw=prep"
    )
    assert included.code == 0, included.stderr
    fed = chain.nodes.get("feat.load", "alpha")
    view = chain.pipelines.show("alpha")
    assert [(e.parent_id, e.slot) for e in view.edges if e.child_id == fed.id] == [(prep.id, "raw")]


def test_inputs_the_bundle_cannot_take_are_refused_before_anything_is_written(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "features"
    for bad, said in (
        ("raw=nosuch", "the bundle holds no node 'nosuch'"),
        ("bad slot=load", "invalid slot 'bad slot'"),
        ("01=clean", "clean already reads slot '01'"),
        ("raw", "--input expects NAME=NODE"),
    ):
        refused = cli("bundle", "export", "baseline", str(target), "--input", bad)
        assert refused.code == 2, (bad, refused.stderr)
        assert said in refused.stderr.replace("\n", " "), refused.stderr
        assert not target.exists()
