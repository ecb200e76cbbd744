"""Includes for real: the pypyr layout imported and run from any directory; a library of
pipelines included by two workspaces, then updated in both; bundle code fingerprinted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.services.bundles.updating import RemovalsNotConfirmedError
from nodepipe.services.runs.service import RunRequest
from support.locked_bundles import (
    APPEND_INPUTS,
    LIBRARY,
    USES_LIB,
    make_node_template,
    write_bundle,
)
from support.wheels import local_project

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))
HELPERS = "def mark(tag):\n    return tag.upper()\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_node_template(tmp_path_factory.mktemp("template"))


def pypyr_layout(root: Path, template: Path) -> Path:
    """``root/pipeA`` includes ``../subdir/pipeB``, which includes ``../pipeC`` beside itself
    and imports ``helpers`` from its own ``lib/``."""
    write_bundle(
        root / "pipeC",
        'format = 1\n[pipeline]\nname = "c"\n[inputs]\nraw = ["first"]\n[nodes.first]\n',
        {"nodes/first": APPEND_INPUTS},
        template,
    )
    write_bundle(
        root / "subdir" / "pipeB",
        'format = 1\n[pipeline]\nname = "b"\npy-dir = "lib"\n[inputs]\nraw = ["shout"]\n'
        "[nodes.shout]\n"
        '[includes.c]\nsource = "../pipeC"\ninputs = { raw = "shout" }\n',
        {"nodes/shout": USES_LIB},
        template,
        {"lib/helpers.py": HELPERS},
    )
    shutil.move(root / "pipeC", root / "subdir" / "pipeC")
    return write_bundle(
        root / "pipeA",
        'format = 1\n[pipeline]\nname = "a"\n[nodes.start]\n'
        '[includes.b]\nsource = "../subdir/pipeB"\ninputs = { raw = "start" }\n',
        {"nodes/start": APPEND_INPUTS},
        template,
    )


def nodepipe_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    return subprocess.run(
        [NODEPIPE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("where", ["root", "subdir", "elsewhere"])
def test_the_pypyr_layout_imports_and_runs_from_any_directory(
    where: str, tmp_path: Path, template: Path
) -> None:
    root = tmp_path / "root"
    pypyr_layout(root, template)
    workspace = tmp_path / "ws"
    nodepipe.init(workspace).close()
    cwd = {"root": root, "subdir": root / "subdir", "elsewhere": tmp_path / "elsewhere"}[where]
    cwd.mkdir(exist_ok=True)
    bundle = os.path.relpath(root / "pipeA", cwd)
    imported = nodepipe_cli(cwd, "-w", str(workspace), "bundle", "import", bundle, "--json")
    assert imported.returncode == 0, imported.stderr
    ran = nodepipe_cli(cwd, "-w", str(workspace), "run", "a")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    with nodepipe.Workspace.open(workspace) as ws:
        tags = {i.node.tag: i.node.id for i in ws.pipelines.show("a").nodes}
        assert sorted(tags) == ["b.c.first", "b.shout", "start"]
        out = ws.context.layout.node_dir(tags["b.c.first"]) / "data" / "out.txt"
        assert out.read_text() == "start;B.SHOUT;b.c.first;"
        found = {i.include.namespace: i for i in ws.bundles.includes("a")}
        assert sorted(found) == ["b", "b.c"]
        assert found["b.c"].include.location == str((root / "subdir" / "pipeC").resolve())
        assert found["b"].nodes == ("b.shout",) and found["b.c"].nodes == ("b.c.first",)
        assert {g.name for g in ws.pipelines.show("a").groups} == {"b", "b.c"}


def library(root: Path, template: Path) -> Path:
    """``root/library/features``: clean → scale, and old; its nodes use ``lib/helpers``."""
    code = {"nodes/clean": USES_LIB, "nodes/scale": USES_LIB, "nodes/old": APPEND_INPUTS}
    return write_bundle(
        root / "library" / "features", LIBRARY, code, template, {"lib/helpers.py": HELPERS}
    )


def project(root: Path, name: str, template: Path) -> Path:
    """A project bundle elsewhere whose ``prep`` feeds the library's ``features``."""
    source = os.path.relpath(root / "library" / "features", root / "projects" / name)
    return write_bundle(
        root / "projects" / name,
        f'format = 1\n[pipeline]\nname = "{name}"\n[nodes.prep]\n'
        f'[includes.features]\nsource = "{source}"\ninputs = {{ raw = "prep" }}\n',
        {"nodes/prep": APPEND_INPUTS},
        template,
    )


def reasons(ws: nodepipe.Workspace, pipeline: str) -> dict[str, tuple[NodeState, tuple[str, ...]]]:
    return {s.item.node.tag: (s.state, s.reasons) for s in ws.runs.status(pipeline).nodes.values()}


def test_a_library_included_by_two_workspaces_is_updated_in_both(
    tmp_path: Path, template: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = library(tmp_path, template)
    one = nodepipe.init(tmp_path / "ws-one")
    one.bundles.import_(project(tmp_path, "alpha", template))
    two = nodepipe.init(tmp_path / "ws-two")
    two.pipelines.new("beta")
    two.nodes.new("beta", "prep")
    (two.nodes.path("prep") / "code" / "main.py").write_text(APPEND_INPUTS)
    monkeypatch.chdir(tmp_path / "ws-two")
    added = cli(
        "-w",
        str(two.root),
        "pipeline",
        "include",
        "beta",
        "../library/features",
        "--as",
        "features",
        "--input",
        "raw=prep",
    )
    assert added.code == 0, added.stderr
    for ws, name in ((one, "alpha"), (two, "beta")):
        ws.runs.run(RunRequest(name))
        assert set(s for s, _ in reasons(ws, name).values()) == {NodeState.COMPLETED}

    (features / "nodes" / "clean" / "code" / "main.py").write_text(USES_LIB + "# v2\n")
    (features / "lib" / "helpers.py").write_text(HELPERS.replace("upper()", "upper() + '!'"))
    shutil.rmtree(features / "nodes" / "old")
    (features / "pipeline.toml").write_text(LIBRARY.replace("[nodes.old]\n", "[nodes.extra]\n"))
    extra = features / "nodes" / "extra" / "code"
    shutil.copytree(features / "nodes" / "scale" / "code", extra)
    (extra / "main.py").write_text(APPEND_INPUTS)

    for ws, name in ((one, "alpha"), (two, "beta")):
        old_id = ws.nodes.get("features.old").id
        with pytest.raises(RemovalsNotConfirmedError, match=r"features\.old"):
            ws.bundles.update(name, "features")
        assert ws.nodes.get("features.old").id == old_id  # nothing changed
        result = ws.bundles.update(name, "features", confirm_removals=True)
        assert result.changed == ("features.clean",)
        assert result.added == ("features.extra",) and result.removed == ("features.old",)
        why = reasons(ws, name)
        assert why["features.clean"][0] is NodeState.STALE
        said = f"code changed: main.py (include features, from {features})"
        assert said in why["features.clean"][1], "the reason names where the code lives"
        assert "shared code changed: lib (helpers.py)" in why["features.clean"][1]
        assert why["features.scale"] == (
            NodeState.STALE,
            ("shared code changed: lib (helpers.py)", "parent 01 (features.clean) is stale"),
        )
        assert why["features.extra"][0] is NodeState.READY
        assert "features.old" not in why
        ws.runs.run(RunRequest(name))
        out = ws.nodes.path("features.scale") / "data" / "out.txt"
        assert out.read_text() == "prep;FEATURES.CLEAN!;FEATURES.SCALE!;"
        again = ws.bundles.update(name, "features")
        assert again.changed == again.added == again.removed == ()
    one.close()
    two.close()


def test_editing_imported_bundle_code_makes_exactly_its_nodes_stale(
    tmp_path: Path, template: Path
) -> None:
    library(tmp_path, template)
    ws = nodepipe.init(tmp_path / "ws")
    ws.bundles.import_(project(tmp_path, "alpha", template))
    ws.runs.run(RunRequest("alpha"))
    lib = next((ws.root / "libs").iterdir())
    (lib / "helpers.py").write_text(HELPERS + "# edited\n")
    why = reasons(ws, "alpha")
    assert why["prep"] == (NodeState.COMPLETED, ())
    for node in ("features.clean", "features.old"):  # every node of that bundle, no other
        assert why[node] == (NodeState.STALE, ("shared code changed: lib (helpers.py)",))
    ws.close()


def test_an_export_keeps_an_unedited_include_and_inlines_an_edited_one(
    tmp_path: Path, template: Path
) -> None:
    library(tmp_path, template)
    ws = nodepipe.init(tmp_path / "ws")
    ws.bundles.import_(project(tmp_path, "alpha", template))
    first = ws.bundles.export("alpha", tmp_path / "exports" / "first")
    assert first.includes == ("features",) and first.nodes == ("prep",)
    text = (tmp_path / "exports" / "first" / "pipeline.toml").read_text()
    assert 'source = "../../library/features"' in text
    assert 'inputs = {raw = "prep"}' in text
    # the export imports anywhere, and exports again to the same bytes
    ws.bundles.import_(tmp_path / "exports" / "first", name="alpha-again")
    assert sorted(i.node.tag for i in ws.pipelines.show("alpha-again").nodes) == [
        "features.clean",
        "features.old",
        "features.scale",
        "prep",
    ]
    ws.bundles.export("alpha-again", tmp_path / "exports" / "second")
    second = (tmp_path / "exports" / "second" / "pipeline.toml").read_text()
    assert second == text.replace('name = "alpha"', 'name = "alpha-again"')

    main = ws.nodes.path("features.scale", pipeline="alpha") / "code" / "main.py"
    main.write_text(main.read_text() + "# edited here\n")
    edited = ws.bundles.export("alpha", tmp_path / "exports" / "edited")
    assert edited.includes == () and edited.inlined == ("features",)
    assert edited.nodes == ("features.clean", "features.old", "features.scale", "prep")
    folder = tmp_path / "exports" / "edited"
    assert (
        (folder / "nodes" / "features.scale" / "code" / "main.py")
        .read_text()
        .endswith("# edited here\n")
    )
    assert (folder / "lib" / "helpers.py").read_text() == HELPERS
    assert "py-dir" in (folder / "pipeline.toml").read_text()
    ws.close()


def test_an_export_keeping_an_include_counts_its_nodes_and_the_folders_written(
    tmp_path: Path, template: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export of prep + the kept include features (3 nodes) said "(1 node)": the user
    read that three nodes were lost. It counts all four, and says which were written."""
    library(tmp_path, template)
    ws = nodepipe.init(tmp_path / "ws")
    ws.bundles.import_(project(tmp_path, "alpha", template))
    monkeypatch.chdir(ws.root)
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    target = tmp_path / "exports" / "alpha"
    exported = cli("bundle", "export", "alpha", str(target))
    assert exported.code == 0, exported.stderr
    assert exported.stdout.startswith(
        f"exported pipeline alpha to {target} (4 nodes: 1 written to nodes/, 3 from the "
        "include kept)\nincludes kept: features"
    )
    assert sorted(p.name for p in (target / "nodes").iterdir()) == ["prep"]
    as_json = cli("bundle", "export", "alpha", str(target), "--force", "--json")
    assert '"included": [' in as_json.stdout and '"features.scale"' in as_json.stdout
    ws.close()


def test_an_export_with_data_carries_the_outputs_of_included_nodes_too(
    tmp_path: Path, template: Path
) -> None:
    library(tmp_path, template)
    ws = nodepipe.init(tmp_path / "ws")
    ws.bundles.import_(project(tmp_path, "alpha", template))
    ws.runs.run(RunRequest("alpha"))
    exported = ws.bundles.export("alpha", tmp_path / "handover", with_data=True)
    assert exported.includes == ("features",)
    assert exported.with_data == ("features.clean", "features.old", "features.scale", "prep")
    assert (tmp_path / "handover" / "nodes" / "features.scale" / "data" / "out.txt").is_file()
    other = nodepipe.init(tmp_path / "other")
    imported = other.bundles.import_(tmp_path / "handover")
    assert imported.completed == ("features.clean", "features.old", "features.scale", "prep")
    assert other.runs.run(RunRequest("alpha")).run_id is None
    out = other.nodes.path("features.scale") / "data" / "out.txt"
    assert out.read_text() == "prep;FEATURES.CLEAN;FEATURES.SCALE;"
    ws.close()
    other.close()


def test_two_threads_importing_same_named_relative_includes_get_their_own(
    tmp_path: Path, template: Path
) -> None:
    """No process-wide working directory: each bundle's ``../shared`` is its own."""
    for side in ("left", "right"):
        write_bundle(
            tmp_path / side / "shared",
            f'format = 1\n[pipeline]\nname = "shared"\n[nodes.{side}_only]\n',
            {f"nodes/{side}_only": APPEND_INPUTS},
            template,
        )
        write_bundle(
            tmp_path / side / "pipe",
            f'format = 1\n[pipeline]\nname = "{side}"\n[nodes.top]\n'
            '[includes.shared]\nsource = "../shared"\n',
            {"nodes/top": APPEND_INPUTS},
            template,
        )
    ws = nodepipe.init(tmp_path / "ws")
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(
            pool.map(ws.bundles.import_, [tmp_path / s / "pipe" for s in ("left", "right")])
        )
    for result, side in zip(done, ("left", "right"), strict=True):
        assert sorted(i.node.tag for i in result.view.nodes) == [f"shared.{side}_only", "top"]
        location = ws.bundles.includes(side)[0].include.location
        assert location == str((tmp_path / side / "shared").resolve())
    ws.close()


def test_deleting_the_pipeline_removes_its_bundle_code(tmp_path: Path, template: Path) -> None:
    library(tmp_path, template)
    ws = nodepipe.init(tmp_path / "ws")
    bundle = project(tmp_path, "alpha", template)
    ws.bundles.import_(bundle)
    ws.bundles.import_(bundle, name="alpha-two")
    assert len(list((ws.root / "libs").iterdir())) == 2
    ws.pipelines.delete("alpha")
    assert len(list((ws.root / "libs").iterdir())) == 1  # alpha-two's stays
    ws.close()


@pytest.mark.usefixtures("offline_uv")
def test_an_update_dropping_a_library_node_in_use_is_refused_naming_its_users(
    tmp_path: Path, template: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An include's node that a node outside the include installs a package from is not
    deleted under it by ``pipeline include --update --yes`` (as ``node rm`` refuses it)."""
    features = library(tmp_path, template)
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(tmp_path / "ws")
    ws.pipelines.new("beta")
    ws.nodes.new("beta", "prep")
    (ws.nodes.path("prep") / "code" / "main.py").write_text(APPEND_INPUTS)
    monkeypatch.chdir(ws.root)
    source = os.path.relpath(features, ws.root)
    included = cli("pipeline", "include", "beta", source, "--as", "features", "--input", "raw=prep")
    assert included.code == 0, included.stderr
    old = ws.nodes.get("features.old")
    old_folder = ws.nodes.path(old.id)
    local_project(old_folder / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    user = ws.nodes.new("beta", "user")
    linked = cli("env", "add", "user", "--from-node", "features.old")
    assert linked.code == 0, linked.stderr
    shutil.rmtree(features / "nodes" / "old")
    (features / "pipeline.toml").write_text(LIBRARY.replace("[nodes.old]\n", ""))

    before = snapshot(ws)
    refused = cli("pipeline", "include", "beta", "--update", "features", "--yes")
    words = " ".join(refused.stderr.split())
    assert refused.code == 4, refused.stderr
    assert f"'features.old' is the library node of user ({user.id}, package mylib" in words
    assert f"`nodepipe env remove {user.id} mylib`" in words  # the hint library.unlink
    assert snapshot(ws) == before and old_folder.is_dir()  # nothing changed

    assert cli("env", "remove", "user", "mylib").code == 0
    # features.old was edited here (mylib): deleting it needs --replace-edits (it is kept)
    argv = ("pipeline", "include", "beta", "--update", "features", "--yes", "--json")
    updated = cli(*argv, "--replace-edits")
    assert updated.code == 0, updated.stderr
    assert updated.json()["removed"] == ["features.old"]
    assert not old_folder.exists()
    ws.close()


def test_an_include_whose_nodes_would_be_named_longer_than_a_tag_is_refused(
    tmp_path: Path, template: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--as`` a 95-character namespace (a valid name) would tag the library's ``clean`` with
    101 characters, which no tag may hold (`node rename` refuses it, an export of the
    pipeline too): the include is refused naming the node and the fix, nothing written."""
    features = library(tmp_path, template)
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(tmp_path / "ws")
    ws.pipelines.new("beta")
    ws.nodes.new("beta", "prep")
    monkeypatch.chdir(ws.root)
    before = snapshot(ws)
    namespace = "f" * 95
    argv = ("pipeline", "include", "beta", str(features), "--as", namespace)
    refused = cli(*argv, "--input", "raw=prep")
    said = " ".join(refused.stderr.split())
    assert refused.code == 2, refused.stderr
    assert f"pipeline include: node 'clean' of the bundle cannot be included as '{namespace}'" in (
        said
    )
    assert "it is longer than 100 characters; choose a shorter namespace" in said
    assert snapshot(ws) == before
    assert cli(*argv[:-1], "f" * 90, "--input", "raw=prep").code == 0  # 'f…f.clean': 96

    # the library gains a node whose name is longer: the update is refused the same way
    shutil.copytree(features / "nodes" / "old", features / "nodes" / "rescaled_twice")
    (features / "pipeline.toml").write_text(LIBRARY + "[nodes.rescaled_twice]\n")
    before = snapshot(ws)
    updated = cli("pipeline", "include", "beta", "--update", "f" * 90)
    assert updated.code == 2, updated.stdout + updated.stderr
    assert "node 'rescaled_twice' of the bundle cannot be included" in " ".join(
        updated.stderr.split()
    )
    assert snapshot(ws) == before
    ws.close()
