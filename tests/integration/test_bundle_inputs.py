"""A bundle's inputs declared at export (``bundle export --input NAME=NODE``) or by the import
that made the pipeline: written to ``pipeline.toml``, remembered by the pipeline (by node id:
a rename keeps them, a delete leaves them) for every export without ``--input``, cleared with
``--no-inputs``, fed by whoever includes the bundle."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

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


def inputs_of(directory: Path) -> dict[str, list[str]] | None:
    """The ``[inputs]`` table of the bundle in ``directory`` (None: it has none)."""
    written: dict[str, list[str]] | None = tomllib.loads(
        (directory / "pipeline.toml").read_text()
    ).get("inputs")
    return written


def test_an_imported_pipeline_exports_its_inputs_again_byte_for_byte(
    chain: nodepipe.Workspace,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """export --input → import elsewhere → export (no --input): the same pipeline.toml."""
    first = tmp_path / "first"
    declared = ("--input", "raw=load", "--input", "raw=clean", "--input", "labels=plot")
    assert cli("bundle", "export", "baseline", str(first), *declared).code == 0
    assert inputs_of(first) == {"labels": ["plot"], "raw": ["clean", "load"]}
    other = nodepipe.init(tmp_path / "other")
    monkeypatch.chdir(other.root)
    imported = cli("bundle", "import", str(first))
    assert imported.code == 0, imported.stderr
    again = cli("bundle", "export", "baseline", str(tmp_path / "second"))
    assert again.code == 0, again.stderr
    assert "input raw: taken by clean, load" in again.stdout
    written = (first / "pipeline.toml").read_bytes()
    assert (tmp_path / "second" / "pipeline.toml").read_bytes() == written
    other.close()


def test_an_export_with_inputs_is_remembered_by_the_next_export_without(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), "--input", "raw=load").code == 0
    assert cli("bundle", "export", "baseline", str(tmp_path / "b")).code == 0
    assert inputs_of(tmp_path / "b") == {"raw": ["load"]}
    refused = cli("bundle", "export", "baseline", str(tmp_path / "c"), "--input", "raw=nosuch")
    assert refused.code == 2 and not (tmp_path / "c").exists()
    assert cli("bundle", "export", "baseline", str(tmp_path / "d"), "--input", "x=plot").code == 0
    assert cli("bundle", "export", "baseline", str(tmp_path / "e")).code == 0
    assert inputs_of(tmp_path / "e") == {"x": ["plot"]}  # --input replaced them all
    exported = chain.bundles.export("baseline", tmp_path / "f")
    assert exported.inputs == {"x": ("plot",)}


def test_no_inputs_clears_them_and_does_not_go_with_input(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), "--input", "raw=load").code == 0
    both = cli(
        "bundle", "export", "baseline", str(tmp_path / "b"), "--input", "raw=load", "--no-inputs"
    )
    assert both.code == 2 and "not both" in both.stderr and not (tmp_path / "b").exists()
    assert inputs_of(tmp_path / "a") == {"raw": ["load"]}
    assert cli("bundle", "export", "baseline", str(tmp_path / "c"), "--no-inputs").code == 0
    assert inputs_of(tmp_path / "c") is None
    assert cli("bundle", "export", "baseline", str(tmp_path / "d")).code == 0
    assert inputs_of(tmp_path / "d") is None


def test_a_renamed_node_keeps_its_input_under_its_new_tag(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), "--input", "raw=load").code == 0
    assert cli("node", "rename", "load", "fetch", "-p", "baseline").code == 0
    assert cli("bundle", "export", "baseline", str(tmp_path / "b")).code == 0
    assert inputs_of(tmp_path / "b") == {"raw": ["fetch"]}


def test_a_deleted_node_leaves_its_inputs_and_an_input_with_no_node_left_goes(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    declared = ("--input", "raw=load", "--input", "raw=plot", "--input", "labels=plot")
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), *declared).code == 0
    assert cli("node", "rm", "plot", "-p", "baseline", "--yes").code == 0
    exported = cli("bundle", "export", "baseline", str(tmp_path / "b"))
    assert exported.code == 0, exported.stderr
    assert inputs_of(tmp_path / "b") == {"raw": ["load"]}


def test_a_declared_input_the_pipeline_now_feeds_itself_is_left_out_with_a_warning(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """A node that now reads a declared input's slot from a node of the pipeline is left out
    of that input (an input with no node left is not written), the export warns, and the
    pipeline no longer declares it; naming it with --input is still refused."""
    declared = ("--input", "side=plot", "--input", "side=clean", "--input", "raw=plot")
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), *declared).code == 0
    chain.nodes.new("baseline", "extra")
    chain.edges.connect("load", "plot", "baseline", slot="side")
    chain.edges.connect("extra", "plot", "baseline", slot="raw")
    asked = cli("bundle", "export", "baseline", str(tmp_path / "asked"), "--input", "side=plot")
    assert asked.code == 2, asked.stderr
    assert "plot already reads slot 'side' from load" in " ".join(asked.stderr.split())
    assert not (tmp_path / "asked").exists()

    exported = cli("bundle", "export", "baseline", str(tmp_path / "b"))
    assert exported.code == 0, exported.stderr
    said = " ".join(exported.stderr.split())
    assert (
        "warning: input 'side': plot now reads slot 'side' from load in the pipeline, so it "
        "no longer takes the input" in said
    )
    assert "input 'raw': plot now reads slot 'raw' from extra" in said
    assert "input 'raw', taken by no other node, is not written" in said
    assert inputs_of(tmp_path / "b") == {"side": ["clean"]}
    again = cli("bundle", "export", "baseline", str(tmp_path / "c"))  # remembered: no warning
    assert again.code == 0 and "warning" not in again.stderr, again.stderr
    assert inputs_of(tmp_path / "c") == {"side": ["clean"]}

    chain.edges.connect("extra", "clean", "baseline", slot="side")
    result = chain.bundles.export("baseline", tmp_path / "d")
    assert result.inputs == {} and inputs_of(tmp_path / "d") is None
    (warning,) = result.warnings
    assert warning.startswith("input 'side': clean now reads slot 'side' from extra")
    shown = cli("bundle", "export", "baseline", str(tmp_path / "e"), "--json")
    assert shown.code == 0 and shown.json()["warnings"] == [] and shown.json()["inputs"] == {}


def test_a_package_input_that_would_merge_a_declared_input_and_a_left_out_parent_is_refused(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """Declared ``01 = ["side"]``; the package of clean and side leaves out load, which clean
    reads on slot 01: one input would stand for two different data, refused naming both."""
    chain.nodes.new("baseline", "side")
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), "--input", "01=side").code == 0
    refused = cli(
        "package", "build", "baseline", "--node", "clean", "--node", "side",
        "--destination", str(tmp_path / "dist"),
    )  # fmt: skip
    assert refused.code == 2, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    assert "the pipeline's declared input '01' (taken by side) and node load, left out" in said
    assert "which clean reads on slot '01'" in said
    assert not (tmp_path / "dist").exists()


def test_a_node_that_takes_another_ones_place_takes_its_inputs(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """``node replace OLD NEW`` (NEW takes OLD's inputs; with --keep OLD keeps them), ``node
    detach`` (the copy takes the reference's), ``pipeline duplicate`` (the copies take them)."""
    declared = ("--input", "raw=load", "--input", "labels=plot")
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), *declared).code == 0
    assert cli("node", "duplicate", "load", "-p", "baseline", "--tag", "fetch").code == 0
    kept = cli("node", "replace", "load", "fetch", "-p", "baseline", "--keep")
    assert kept.code == 0, kept.stderr
    assert chain.bundles.export("baseline", tmp_path / "b").inputs["raw"] == ("load",)
    replaced = cli("node", "replace", "load", "fetch", "-p", "baseline", "--yes")
    assert replaced.code == 0, replaced.stderr
    assert chain.bundles.export("baseline", tmp_path / "c").inputs == {
        "labels": ("plot",),
        "raw": ("fetch",),
    }

    assert cli("pipeline", "duplicate", "baseline", "--name", "twin").code == 0
    twin = chain.bundles.export("twin", tmp_path / "d")
    assert twin.inputs == {"labels": ("plot",), "raw": ("fetch",)}
    twin_ids = chain.pipelines.show("twin").node_ids
    assert chain.nodes.get("plot", "twin").id in twin_ids  # a copy of its own
    assert chain.nodes.get("plot", "twin").id != chain.nodes.get("plot", "baseline").id

    chain.pipelines.new("view")
    assert cli("node", "reference", "plot", "-p", "baseline", "--into", "view").code == 0
    assert cli("bundle", "export", "view", str(tmp_path / "e"), "--input", "x=plot").code == 0
    detached = cli("node", "detach", "plot", "-p", "view")
    assert detached.code == 0, detached.stderr
    assert chain.bundles.export("view", tmp_path / "f").inputs == {"x": ("plot",)}
    assert chain.nodes.get("plot", "view").id != chain.nodes.get("plot", "baseline").id


def test_a_branch_keeps_the_inputs_of_the_nodes_it_shows(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """``pipeline branch``: the copies take the inputs their sources took, a node shared by
    reference keeps its own, and a node the branch does not show leaves them."""
    chain.nodes.new("baseline", "extra")
    declared = ("--input", "raw=load", "--input", "side=clean", "--input", "labels=plot")
    assert (
        cli(
            "bundle", "export", "baseline", str(tmp_path / "a"), *declared, "--input", "x=extra"
        ).code
        == 0
    )
    branched = cli("pipeline", "branch", "baseline", "--from", "clean", "--name", "variant")
    assert branched.code == 0, branched.stderr
    variant = chain.bundles.export("variant", tmp_path / "b")
    assert variant.inputs == {"labels": ("plot",), "raw": ("load",), "side": ("clean",)}
    assert chain.nodes.get("load", "variant").id == chain.nodes.get("load", "baseline").id
    assert chain.nodes.get("plot", "variant").id != chain.nodes.get("plot", "baseline").id
    assert chain.bundles.export("baseline", tmp_path / "c").inputs["x"] == ("extra",)


def test_a_merge_declares_the_union_of_its_sources_inputs_and_warns_of_a_shared_name(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """``pipeline merge``: the merged pipeline declares every input of every source, on the
    copies; a name two sources declare for the same node is one input, silently; a name they
    declare for different nodes is one input taken by all of them, and the merge warns."""
    assert cli("bundle", "export", "baseline", str(tmp_path / "a"), "--input", "raw=load").code == 0
    assert cli("pipeline", "branch", "baseline", "--from", "clean", "--name", "variant").code == 0
    chain.pipelines.new("alpha")
    chain.nodes.new("alpha", "prep")
    chain.nodes.new("alpha", "solo")
    declared = ("--input", "raw=prep", "--input", "only=solo")
    assert cli("bundle", "export", "alpha", str(tmp_path / "b"), *declared).code == 0

    shared = cli("pipeline", "merge", "baseline", "variant", "--name", "same")
    assert shared.code == 0, shared.stderr
    assert "warning" not in shared.stderr, shared.stderr  # load is one node in both
    assert chain.bundles.export("same", tmp_path / "c").inputs == {"raw": ("load",)}

    merged = cli("pipeline", "merge", "baseline", "alpha", "--name", "both")
    assert merged.code == 0, merged.stderr
    said = " ".join(merged.stderr.split())
    assert (
        "warning: input 'raw' is declared by baseline (taken by load) and by alpha (taken by "
        "prep): the merged pipeline declares one input 'raw', taken by load, prep" in said
    )
    both = chain.bundles.export("both", tmp_path / "d")
    assert both.inputs == {"only": ("solo",), "raw": ("load", "prep")}
    assert chain.nodes.get("load", "both").id != chain.nodes.get("load", "baseline").id
    made = chain.pipeline_copies.merge(["alpha", "baseline"], "again")
    assert made.warnings == (
        "input 'raw' is declared by alpha (taken by prep) and by baseline (taken by load): the "
        "merged pipeline declares one input 'raw', taken by load, prep (whoever includes it "
        "feeds them all from one node)",
    )
