"""Updating an include when the library changed in ways that meet the pipeline around it.

A library (``library/features``: clean → scale, input ``raw`` taken by clean) is included in
``alpha`` as ``feat``, fed by ``prep``; then the library changes and ``alpha`` updates it. An
update that cannot be made as asked is refused with nothing changed, saying what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe.api import create_app
from nodepipe.api.settings import ServerSettings
from nodepipe.domain.errors import (
    Action,
    ConflictError,
    Hint,
    InvalidInputError,
    NotFoundError,
)
from nodepipe.services.bundles.prefixing import InputsChangedError
from nodepipe.services.runs.service import RunRequest
from support.locked_bundles import APPEND_INPUTS, make_node_template, write_bundle

FEATURES = """\
format = 1
[pipeline]
name = "features"
[inputs]
raw = ["clean"]
[nodes.clean]
[nodes.scale]
[[edges]]
from = "clean"
to = "scale"
slot = "01"
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_node_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def library(tmp_path: Path, template: Path) -> Path:
    return write_bundle(
        tmp_path / "library" / "features",
        FEATURES,
        {"nodes/clean": APPEND_INPUTS, "nodes/scale": APPEND_INPUTS},
        template,
    )


@pytest.fixture
def ws(tmp_path: Path, library: Path) -> nodepipe.Workspace:
    """``alpha`` (prep) including ``library`` as ``feat``, its input ``raw`` fed by prep."""
    workspace = nodepipe.init(tmp_path / "ws")
    workspace.pipelines.new("alpha")
    workspace.nodes.new("alpha", "prep")
    workspace.bundles.include("alpha", str(library), "feat", {"raw": "prep"})
    yield workspace
    workspace.close()


def add_node(library: Path, key: str, text: str) -> None:
    shutil.copytree(library / "nodes" / "scale", library / "nodes" / key)
    (library / "pipeline.toml").write_text(text)


def test_a_node_the_library_adds_tagged_like_a_node_of_the_pipeline_is_refused(
    ws: nodepipe.Workspace, library: Path
) -> None:
    mine = ws.nodes.new("alpha", "feat.extra")
    add_node(library, "extra", FEATURES + "[nodes.extra]\n")
    before = snapshot(ws)
    with pytest.raises(ConflictError, match=rf"feat\.extra \({mine.id}\).*nothing was changed"):
        ws.bundles.update("alpha", "feat")
    assert snapshot(ws) == before
    tags = [item.node.tag for item in ws.pipelines.show("alpha").nodes]
    assert tags.count("feat.extra") == 1

    ws.nodes.rename(mine.id, "my-extra")
    assert ws.bundles.update("alpha", "feat").added == ("feat.extra",)


def test_an_input_the_library_renamed_is_fed_anew_by_the_update(
    ws: nodepipe.Workspace, library: Path
) -> None:
    (library / "pipeline.toml").write_text(FEATURES.replace("raw = ", "source = "))
    before = snapshot(ws)
    with pytest.raises(InputsChangedError) as refused:
        ws.bundles.update("alpha", "feat")
    message = str(refused.value)
    assert "no longer declares 'raw' (fed by prep)" in message
    assert "now declares 'source', which nothing feeds" in message
    assert "nothing was changed" in message and "source=NODE" in message
    assert snapshot(ws) == before
    clean = ws.nodes.get("feat.clean").id
    with pytest.raises(InvalidInputError, match=r"feat\.scale is a node of include 'feat' itself"):
        ws.bundles.update("alpha", "feat", inputs={"source": "feat.scale"})
    assert snapshot(ws) == before

    ws.bundles.update("alpha", "feat", inputs={"source": "prep"})
    view = ws.pipelines.show("alpha")
    prep = ws.nodes.get("prep").id
    assert {(e.parent_id, e.slot) for e in view.edges if e.child_id == clean} == {(prep, "source")}
    (row,) = [i.include for i in ws.bundles.includes("alpha")]
    assert dict(row.inputs) == {"source": "prep"}
    assert ws.bundles.update("alpha", "feat").changed == ()  # the new feeding is remembered


def test_a_feeder_renamed_after_the_include_still_feeds_it_on_update_and_export(
    ws: nodepipe.Workspace, library: Path, tmp_path: Path
) -> None:
    prep = ws.nodes.rename("prep", "load")
    main = library / "nodes" / "clean" / "code" / "main.py"
    main.write_text(main.read_text() + "# v2\n")
    assert ws.bundles.update("alpha", "feat").changed == ("feat.clean",)
    clean = ws.nodes.get("feat.clean").id
    edges = ws.pipelines.show("alpha").edges
    assert {(e.parent_id, e.slot) for e in edges if e.child_id == clean} == {(prep.id, "raw")}
    (row,) = [i.include for i in ws.bundles.includes("alpha")]
    assert dict(row.inputs) == {"raw": "load"}

    ws.nodes.rename("load", "loader")
    exported = ws.bundles.export("alpha", tmp_path / "export")
    assert exported.includes == ("feat",)
    text = (tmp_path / "export" / "pipeline.toml").read_text()
    assert 'inputs = {raw = "loader"}' in text
    assert ws.bundles.check(tmp_path / "export").ok


@pytest.mark.parametrize(
    "edge", [("feat.other", "feat.scale", "side"), ("prep", "feat.scale", "extra")]
)
def test_an_edge_connected_into_an_include_is_an_edit_an_export_keeps(
    ws: nodepipe.Workspace, library: Path, tmp_path: Path, edge: tuple[str, str, str]
) -> None:
    add_node(library, "other", FEATURES + "[nodes.other]\n")
    ws.bundles.update("alpha", "feat")
    kept = ws.bundles.export("alpha", tmp_path / "before")
    assert kept.includes == ("feat",)
    parent, child, slot = edge
    ws.edges.connect(parent, child, "alpha", slot)

    inlined = ws.bundles.export("alpha", tmp_path / "export")
    assert inlined.includes == ()
    text = (tmp_path / "export" / "pipeline.toml").read_text()
    assert f'[[edges]]\nfrom = "{parent}"\nto = "{child}"\nslot = "{slot}"\n' in text
    ws.edges.disconnect(parent, child, "alpha")
    assert ws.bundles.export("alpha", tmp_path / "after").includes == ("feat",)


def test_an_update_names_the_edges_into_the_include_it_removed(
    ws: nodepipe.Workspace, library: Path
) -> None:
    add_node(library, "other", FEATURES + "[nodes.other]\n")
    ws.bundles.update("alpha", "feat")
    ws.edges.connect("feat.other", "feat.scale", "alpha", "side")
    ws.edges.connect("prep", "feat.other", "alpha", "extra")
    main = library / "nodes" / "clean" / "code" / "main.py"
    main.write_text(main.read_text() + "# v2\n")

    result = ws.bundles.update("alpha", "feat")
    assert result.changed == ("feat.clean",)
    assert result.disconnected == ("feat.other → feat.scale (side)",)
    again = ws.bundles.update("alpha", "feat")
    assert again.disconnected == ()
    prep, other = ws.nodes.get("prep").id, ws.nodes.get("feat.other").id
    edges = ws.pipelines.show("alpha").edges
    assert [(e.parent_id, e.slot) for e in edges if e.child_id == other] == [(prep, "extra")]


def test_updating_an_include_inside_another_names_the_one_to_update(
    tmp_path: Path, template: Path, library: Path
) -> None:
    shelf = tmp_path / "library" / "shelf"
    outer = FEATURES.replace('name = "features"', 'name = "shelf"')
    outer += '[includes.inner]\nsource = "../features"\ninputs = { raw = "scale" }\n'
    write_bundle(
        shelf, outer, {"nodes/clean": APPEND_INPUTS, "nodes/scale": APPEND_INPUTS}, template
    )
    workspace = nodepipe.init(tmp_path / "ws")
    workspace.pipelines.new("alpha")
    workspace.nodes.new("alpha", "prep")
    workspace.bundles.include("alpha", str(shelf), "feat", {"raw": "prep"})
    with pytest.raises(NotFoundError, match=r"inside include 'feat'.*update 'feat'"):
        workspace.bundles.update("alpha", "feat.inner")
    main = library / "nodes" / "scale" / "code" / "main.py"
    main.write_text(main.read_text() + "# v2\n")
    assert workspace.bundles.update("alpha", "feat").changed == ("feat.inner.scale",)
    workspace.close()


def test_a_feeder_deleted_since_is_named_and_the_update_told_what_feeds_it_now(
    ws: nodepipe.Workspace, library: Path
) -> None:
    prep = ws.nodes.get("prep").id
    ws.nodes.delete(["prep"], "alpha")
    before = snapshot(ws)
    with pytest.raises(InputsChangedError) as refused:
        ws.bundles.update("alpha", "feat")
    assert f"input 'raw' of include 'feat' was fed by a node since deleted ({prep})" in str(
        refused.value
    )
    assert "nothing was changed" in str(refused.value) and "raw=NODE" in str(refused.value)
    assert snapshot(ws) == before
    load = ws.nodes.new("alpha", "load")
    ws.bundles.update("alpha", "feat", inputs={"raw": "load"})
    clean = ws.nodes.get("feat.clean").id
    edges = ws.pipelines.show("alpha").edges
    assert {(e.parent_id, e.slot) for e in edges if e.child_id == clean} == {(load.id, "raw")}


def test_a_stale_reason_names_the_include_the_changed_code_came_from(
    ws: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    """The library's ``clean`` changed and the include was updated: its node said "code
    changed: main.py", as a node of the pipeline's own does, not where that code lives
    (DESIGN §4.2). Now the reason names the include and where it was found, the same in CLI
    ``status``, the Python API and the web API (one list of reasons); a node of the pipeline
    itself says no include."""
    (ws.nodes.path("prep") / "code" / "main.py").write_text(APPEND_INPUTS)
    ws.runs.run(RunRequest("alpha"))
    clean = library / "nodes" / "clean" / "code" / "main.py"
    clean.write_text(clean.read_text() + "# v2\n")
    assert ws.bundles.update("alpha", "feat").changed == ("feat.clean",)
    (ws.nodes.path("prep") / "code" / "main.py").write_text(APPEND_INPUTS + "# mine\n")

    said = f"code changed: main.py (include feat, from {library})"
    why = {s.tag: s.reasons for s in ws.runs.status("alpha").nodes.values()}
    assert said in why["feat.clean"]
    assert "code changed: main.py" in why["prep"]
    shown = cli("-w", str(ws.root), "status", "alpha", "--json")
    assert shown.code == 0, shown.stderr
    assert said in str(shown.json())
    settings = ServerSettings(host="127.0.0.1", port=8000)
    app = create_app(ws, settings)
    headers = {"Authorization": f"Bearer {settings.token}"}
    with TestClient(app, base_url="http://127.0.0.1:8000", headers=headers) as client:
        graph = client.get("/api/pipelines/alpha").json()
        status = client.get("/api/pipelines/alpha/status").json()
    canvas = {node["tag"]: node["state_reason"] for node in graph["nodes"]}
    assert said in canvas["feat.clean"] and "include" not in canvas["prep"]
    reasons = {node["tag"]: node["reasons"] for node in status["nodes"]}
    assert said in reasons["feat.clean"]
    assert "code changed: main.py" in reasons["prep"]


def test_including_a_namespace_again_names_the_update_command(
    ws: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    """``pipeline include alpha LIB --as feat`` when ``feat`` is already there said "update it
    instead", naming no command. The refusal names it (a hint each surface words: the web
    app's group menu → Update include), and nothing changes."""
    before = snapshot(ws)
    refused = cli("-w", str(ws.root), "pipeline", "include", "alpha", str(library), "--as", "feat")
    assert refused.code == 4, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert "pipeline 'alpha' already includes 'feat'" in words
    assert "update it with `nodepipe pipeline include alpha --update feat`" in words
    assert snapshot(ws) == before
    with pytest.raises(ConflictError) as caught:
        ws.bundles.include("alpha", str(library), "feat", {"raw": "prep"})
    assert caught.value.hint == Hint(
        Action.INCLUDE_UPDATE, {"pipeline": "alpha", "namespace": "feat"}
    )


def test_an_include_whose_nodes_were_all_removed_can_be_included_again(
    ws: nodepipe.Workspace, library: Path
) -> None:
    """Every node of include ``feat`` removed (``node rm``): the include stayed recorded with
    no node, so including the library again as ``feat`` was refused forever ("already
    includes 'feat'"), with no command to drop it. An emptied include is replaced."""
    ws.nodes.delete(["feat.clean", "feat.scale"], "alpha")
    again = ws.bundles.include("alpha", str(library), "feat", {"raw": "prep"})
    assert sorted(item.node.tag for item in again.nodes) == ["feat.clean", "feat.scale", "prep"]
    (listed,) = ws.bundles.includes("alpha")
    assert listed.include.namespace == "feat" and listed.nodes == ("feat.clean", "feat.scale")
    with pytest.raises(ConflictError, match="already includes 'feat'"):
        ws.bundles.include("alpha", str(library), "feat", {"raw": "prep"})
