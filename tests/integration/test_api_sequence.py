"""The issue's command sequence through the Python API, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nodepipe
from nodepipe import NodeState


def tags_and_roles(view: nodepipe.PipelineView) -> set[tuple[str, bool]]:
    return {(item.node.tag, item.is_reference) for item in view.nodes}


def edge_tags(view: nodepipe.PipelineView) -> set[tuple[str, str, str]]:
    tags = {item.node.id: item.node.tag for item in view.nodes}
    return {(tags[e.parent_id], tags[e.child_id], e.slot) for e in view.edges}


def test_workspace_core_sequence(
    tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = nodepipe.init(tmp_path / "lab", store_url=store_url)
    monkeypatch.chdir(ws.root)
    assert (ws.root / "nodepipe.toml").is_file()
    assert ws.context.layout.uv_cache_dir.is_dir()
    assert ws.context.store.dialect == ("sqlite" if store_url is None else "postgresql")

    ws.projects.new("climate")
    ws.pipelines.new("baseline", project="climate")
    load, clean, plot = (ws.nodes.new("baseline", tag) for tag in ("load", "clean", "plot"))
    assert ws.edges.connect("load", "clean", "baseline").slot == "01"
    ws.edges.connect("clean", "plot", "baseline")
    with pytest.raises(nodepipe.CycleError, match="plot → load → clean → plot"):
        ws.edges.connect("plot", "load", "baseline")

    baseline = ws.pipelines.show("baseline")
    assert baseline.project.name == "climate"
    assert edge_tags(baseline) == {("load", "clean", "01"), ("clean", "plot", "01")}

    folder = ws.nodes.path("clean")
    assert folder == ws.root / "nodes" / clean.id
    for part in ("code/main.py", "code/pyproject.toml", "code/uv.lock", "code/params.yaml"):
        assert (folder / part).is_file(), part
    for part in ("data", "reports", "logs", "code/.venv"):
        assert (folder / part).is_dir(), part
    assert os.access(folder / "code/.venv/bin/python", os.X_OK)

    variant = ws.pipeline_copies.branch("baseline", "clean", "variant")
    assert tags_and_roles(variant) == {("load", True), ("clean", False), ("plot", False)}
    assert load.id in variant.node_ids and clean.id not in variant.node_ids
    assert edge_tags(variant) == {("load", "clean", "01"), ("clean", "plot", "01")}

    (folder / "data" / "out.csv").write_text("a,b\n1,2\n")
    copy = ws.pipeline_copies.duplicate("baseline", "copy", with_data=True)
    assert tags_and_roles(copy) == {("load", False), ("clean", False), ("plot", False)}
    copied_clean = next(i.node for i in copy.nodes if i.node.tag == "clean")
    assert (ws.nodes.path(copied_clean.id) / "data" / "out.csv").read_text() == "a,b\n1,2\n"
    assert not copy.node_ids & baseline.node_ids

    merged = ws.pipeline_copies.merge(["baseline", "variant"], "both")
    both = merged.view  # load, shown by both, is one node; variant's clean and plot clash
    tags = ["clean", "clean-copy", "load", "plot", "plot-copy"]
    assert sorted(i.node.tag for i in both.nodes) == tags
    assert merged.renamed == ("clean of variant → clean-copy", "plot of variant → plot-copy")
    assert not any(i.is_reference for i in both.nodes)
    kept = ws.pipeline_copies.merge(["baseline", "variant"], "same", allow_duplicate_tag=True)
    assert sorted(i.node.tag for i in kept.view.nodes) == ["clean", "clean", "load", "plot", "plot"]
    assert kept.renamed == ()
    ws.pipelines.delete("same")
    assert {lin.kind for lin in both.lineage if lin.pipeline_id == both.pipeline.id} == {"merge"}

    ws.projects.new("other")
    assert ws.pipelines.move("variant", "other").project_id == ws.projects.get("other").id

    ws.pipelines.new("other-pipeline")
    duplicates = ws.node_copies.duplicate(["clean"], "baseline", into="other-pipeline")
    other = ws.pipelines.show("other-pipeline")
    assert tags_and_roles(other) == {("clean", False), ("load", True)}
    assert edge_tags(other) == {("load", "clean", "01")}
    with pytest.raises(nodepipe.AmbiguousNameError, match=duplicates[0].id):
        ws.nodes.path("clean")

    ws.pipelines.new("shared")
    assert ws.node_copies.reference(["load"], into="shared", pipeline="baseline") == [load.id]

    ws.nodes.clear_data(clean.id)
    assert list((folder / "data").iterdir()) == []
    report = ws.nodes.delete(["plot"], "baseline")
    assert report.deleted == (plot.id,)
    assert not (ws.root / "nodes" / plot.id).exists()
    assert plot.id not in ws.pipelines.show("baseline").node_ids
    assert ws.nodes.get(clean.id).state is NodeState.READY
    ws.close()
