"""What a command that makes a pipeline answers shows each node as ``pipeline show`` does: its
effective state and why (§4.2: every surface shows the same computed state). Before, the answer
of ``pipeline branch``/``duplicate``/``merge``, ``bundle import`` and ``pipeline include`` gave
each node's stored state with an empty "why" ("ready" and nothing, where ``show`` says "never
ran; parent 01 (load) never ran")."""

from __future__ import annotations

from pathlib import Path

import nodepipe
from nodepipe.domain.model import PipelineView
from nodepipe.services.runs.service import RunRequest
from support.worlds import build_pipeline

CHAIN = {"load": [], "clean": ["load"], "plot": ["clean"]}


def states(view: PipelineView) -> dict[str, tuple[str, str]]:
    return {i.node.tag: (i.node.state.value, i.node.state_reason) for i in view.nodes}


def test_copies_imports_and_includes_answer_with_the_states_show_computes(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    build_pipeline(lab, "base", CHAIN)
    assert lab.runs.run(RunRequest("base", only=["load"])).finished is not None
    lab.nodes.set_params("load", ["n=2"])  # load stale, clean and plot never ran

    answers = {
        "branch": lab.pipeline_copies.branch("base", "clean", "branched"),
        "duplicate": lab.pipeline_copies.duplicate("base", "twin", with_data=True),
        "merge": lab.pipeline_copies.merge(["base", "twin"], "merged").view,
    }
    lab.bundles.export("base", tmp_path / "bundle")
    answers["import"] = lab.bundles.import_(tmp_path / "bundle", name="imported").view
    build_pipeline(lab, "host", {"feed": []})
    answers["include"] = lab.bundles.include("host", str(tmp_path / "bundle"), "lib")

    for command, answer in answers.items():
        shown = states(lab.pipelines.show(answer.pipeline.id))
        assert states(answer) == shown, command
        assert all(why for _, why in shown.values()), (command, shown)
