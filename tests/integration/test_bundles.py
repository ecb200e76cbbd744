"""Bundles for real: export → import → export is byte-identical and runs the same; a bundle
imported with its data is completed; every bad bundle is refused with the workspace unchanged.

Real node environments (uv, offline) and real node processes throughout.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import socket
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from support.locked_bundles import APPEND_INPUTS, make_node_template, write_bundle


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_node_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def diamond(lab: nodepipe.Workspace) -> nodepipe.Workspace:
    """``shapes``: load → (left, right) → join; notes, a parameter, a group, a named slot."""
    lab.pipelines.new("shapes", notes="a diamond\nof nodes")
    for tag in ("load", "left", "right", "join"):
        lab.nodes.new("shapes", tag)
        (lab.nodes.path(tag) / "code" / "main.py").write_text(APPEND_INPUTS)
    lab.nodes.notes("left", "the left branch", pipeline="shapes")
    lab.nodes.set_params("right", ["n=7"], pipeline="shapes")
    lab.edges.connect("load", "left", "shapes")
    lab.edges.connect("load", "right", "shapes")
    lab.edges.connect("left", "join", "shapes")
    lab.edges.connect("right", "join", "shapes", slot="other")
    lab.groups.new("shapes", "branches", ["left", "right"])
    return lab


def outputs(ws: nodepipe.Workspace, pipeline: str) -> dict[str, str]:
    view = ws.pipelines.show(pipeline)
    return {
        item.node.tag: (ws.context.layout.node_dir(item.node.id) / "data" / "out.txt").read_text()
        for item in view.nodes
    }


def states(ws: nodepipe.Workspace, pipeline: str) -> dict[str, NodeState]:
    return {s.item.node.tag: s.state for s in ws.runs.status(pipeline).nodes.values()}


def flat(text: str) -> str:
    """``text`` with the line breaks rich wraps it with undone."""
    return "".join(text.split("\n"))


def same_tree(left: Path, right: Path) -> bool:
    """Same names and bytes everywhere below (no .venv, no caches on either side)."""
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(same_tree(left / name, right / name) for name in compared.common_dirs)


def test_export_import_export_is_byte_identical_and_runs_the_same(
    diamond: nodepipe.Workspace, tmp_path: Path
) -> None:
    diamond.runs.run(RunRequest("shapes"))
    first = diamond.bundles.export("shapes", tmp_path / "first")
    assert first.nodes == ("join", "left", "load", "right")
    assert not list((tmp_path / "first").rglob(".venv"))
    assert not list((tmp_path / "first").rglob("data"))
    other = nodepipe.init(tmp_path / "other")
    imported = other.bundles.import_(tmp_path / "first")
    assert imported.completed == ()
    view = imported.view
    assert view.pipeline.tag == "shapes" and view.pipeline.notes == "a diamond\nof nodes"
    assert {i.node.id for i in view.nodes}.isdisjoint(diamond.pipelines.show("shapes").node_ids)
    assert {g.name for g in view.groups} == {"branches"}
    other.bundles.export("shapes", tmp_path / "second")
    pipeline_toml = (tmp_path / "first" / "pipeline.toml").read_bytes()
    assert (tmp_path / "second" / "pipeline.toml").read_bytes() == pipeline_toml
    assert same_tree(tmp_path / "first" / "nodes", tmp_path / "second" / "nodes")
    assert b'slot = "other"' in pipeline_toml and b"the left branch" in pipeline_toml
    assert states(other, "shapes") == dict.fromkeys(
        ["join", "left", "load", "right"], NodeState.READY
    )
    other.runs.run(RunRequest("shapes"))
    assert outputs(other, "shapes") == outputs(diamond, "shapes")
    assert outputs(other, "shapes")["join"] == "load;left;load;right7;join;"
    other.close()


def test_an_import_with_matching_data_is_completed(
    diamond: nodepipe.Workspace, tmp_path: Path
) -> None:
    diamond.runs.run(RunRequest("shapes"))
    result = diamond.bundles.export("shapes", tmp_path / "bundle", with_data=True)
    assert result.with_data == ("join", "left", "load", "right")
    imported = diamond.bundles.import_(tmp_path / "bundle", name="shapes-copy")
    assert imported.completed == ("join", "left", "load", "right")
    assert set(states(diamond, "shapes-copy").values()) == {NodeState.COMPLETED}
    assert diamond.runs.run(RunRequest("shapes-copy")).run_id is None  # nothing to run
    # data that no longer matches its lock is imported, but not trusted
    (tmp_path / "bundle" / "nodes" / "left" / "data" / "out.txt").write_text("tampered")
    again = diamond.bundles.import_(tmp_path / "bundle", name="shapes-tampered")
    assert again.completed == ("load", "right")
    found = states(diamond, "shapes-tampered")
    assert found["left"] is NodeState.READY and found["join"] is NodeState.READY


LONG = "\N{GRINNING FACE}" * 64
"""A valid tag (64 characters) of 256 bytes in UTF-8: longer than a folder name may be."""


def test_a_tag_longer_than_a_folder_name_exports_imports_and_exports_the_same(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A node tagged with 64 emoji, and a kept include whose node's name (``ns.<emoji>``) is
    as long: ``bundle export --with-data`` wrote ``nodes/<tag>/`` and stopped with "File name
    too long" (exit 9). Now each goes to a folder that fits, the node's named by its ``path``;
    the import brings the tags and the outputs back (completed) and exports the same bytes."""
    lab.pipelines.new("long")
    lab.nodes.new("long", LONG)
    (lab.nodes.path(LONG) / "code" / "main.py").write_text(APPEND_INPUTS)
    library = tmp_path / "library"
    lab.pipelines.new("lib")
    lab.nodes.new("lib", LONG[1:])
    (lab.nodes.path(LONG[1:]) / "code" / "main.py").write_text(APPEND_INPUTS)
    assert cli("bundle", "export", "lib", str(library)).code == 0
    assert cli("pipeline", "include", "long", str(library), "--as", "nsx").code == 0
    lab.runs.run(RunRequest("long"))

    first = cli("bundle", "export", "long", str(tmp_path / "first"), "--with-data")
    assert first.code == 0, first.stdout + first.stderr
    folders = sorted(p.name for p in (tmp_path / "first" / "nodes").iterdir())
    assert all(len(name.encode()) <= 255 for name in folders) and len(folders) == 2, folders
    other = nodepipe.init(tmp_path / "other")
    imported = other.bundles.import_(tmp_path / "first")
    assert sorted(imported.completed) == sorted([LONG, f"nsx.{LONG[1:]}"])
    other.bundles.export("long", tmp_path / "second", with_data=True)
    assert same_tree(tmp_path / "first", tmp_path / "second")
    other.close()


def test_pipes_and_sockets_in_a_node_are_left_out_of_an_export(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A named pipe in a node's ``code/`` and a socket in its ``data/`` (a tool's, left
    there): ``bundle export --with-data`` stopped with shutil's list of errors (exit 9), and
    ``package build`` too. A bundle carries files, folders and links, as its fingerprint
    reads them: the others are left out, and the export imports."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "n")
    (lab.nodes.path("n") / "code" / "main.py").write_text(APPEND_INPUTS)
    lab.runs.run(RunRequest("p"))
    os.mkfifo(lab.nodes.path("n") / "code" / "pipe")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(lab.nodes.path("n") / "data" / "tool.sock"))
        exported = cli("bundle", "export", "p", str(tmp_path / "out"), "--with-data")
        assert exported.code == 0, exported.stdout + exported.stderr
        built = cli("package", "build", "p", "--destination", str(tmp_path / "dist"))
        assert built.code == 0, built.stdout + built.stderr
    node = tmp_path / "out" / "nodes" / "n"
    assert sorted(p.name for p in (node / "code").iterdir()) == [
        "main.py", "params.yaml", "pyproject.toml", "uv.lock",
    ]  # fmt: skip
    assert sorted(p.name for p in (node / "data").iterdir()) == ["out.txt"]
    assert lab.bundles.import_(tmp_path / "out", name="copy").completed == ("n",)


def test_an_export_with_data_refuses_an_output_linking_outside_the_node(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A node's output written as a link to a file elsewhere: ``bundle export --with-data``
    wrote the link into the bundle and ``bundle import`` then refused the bundle ("leads
    outside the bundle"), far from the export that made it. The export refuses it up front,
    exit 2, naming the node, the link, where it leads and the way out, and writes nothing (as
    ``package build --with-data`` does); a link between the node's own outputs travels."""
    secret = tmp_path / "elsewhere" / "model.pkl"
    secret.parent.mkdir()
    secret.write_text("not the node's\n")
    lab.pipelines.new("m")
    lab.nodes.new("m", "model")
    (lab.nodes.path("model") / "code" / "main.py").write_text(
        "import os\nimport nodepipe_node as node\n"
        "(node.data_dir() / 'v2.csv').write_text('a,b\\n')\n"
        "os.symlink('v2.csv', node.data_dir() / 'latest.csv')\n"
        f"os.symlink({str(secret)!r}, node.data_dir() / 'model.pkl')\n"
    )
    lab.runs.run(RunRequest("m"))
    target = tmp_path / "out"
    refused = cli("bundle", "export", "m", str(target), "--with-data")
    assert refused.code == 2, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert f"node 'model': data/model.pkl is a link to {secret}, outside the node" in words
    assert "put the file itself in place of the link, or export without data" in words
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if ".nodepipe-" in p.name] == []

    (lab.nodes.path("model") / "data" / "model.pkl").unlink()  # the way out the message names
    shutil.copyfile(secret, lab.nodes.path("model") / "data" / "model.pkl")
    assert cli("bundle", "export", "m", str(target), "--with-data").code == 0
    assert (target / "nodes" / "model" / "data" / "latest.csv").is_symlink()
    imported = lab.bundles.import_(target, name="copy")
    copy = lab.context.layout.node_folder(imported.view.nodes[0].node.id)
    assert (copy.data / "latest.csv").read_text() == "a,b\n"
    assert (copy.data / "model.pkl").read_text() == "not the node's\n"


def test_an_export_refuses_code_linking_outside_the_node(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A script in ``code/`` that is a link to a shared checkout, or an absolute link: the
    export kept it as a link, which no import takes. Refused up front, nothing written."""
    shared = tmp_path / "shared" / "helpers.py"
    shared.parent.mkdir()
    shared.write_text("X = 1\n")
    lab.pipelines.new("p")
    lab.nodes.new("p", "n")
    code = lab.nodes.path("n") / "code"
    for link, to, said in (
        ("helpers.py", shared, f"code/helpers.py is a link to {shared}, outside the node"),
        ("main2.py", code / "main.py", f"code/main2.py is a link to the absolute path {code}"),
    ):
        (code / link).symlink_to(to)
        refused = cli("bundle", "export", "p", str(tmp_path / "out"))
        assert refused.code == 2, refused.stdout + refused.stderr
        assert said in " ".join(refused.stderr.split())
        assert not (tmp_path / "out").exists()
        (code / link).unlink()


def test_an_export_refuses_a_non_empty_directory_unless_forced(
    diamond: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    target = tmp_path / "out"
    assert cli("bundle", "export", "shapes", str(target)).code == 0
    refused = cli("bundle", "export", "shapes", str(target))
    assert refused.code == 4
    assert "bundle export:" in refused.stderr and "--force" in refused.stderr
    (target / "nodes" / "load" / "code" / "stray.py").write_text("edited in the bundle")
    assert cli("bundle", "export", "shapes", str(target), "--force").code == 0
    assert sorted(p.name for p in target.iterdir()) == ["nodes", "pipeline.lock", "pipeline.toml"]
    assert not (target / "nodes" / "load" / "code" / "stray.py").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_force_never_replaces_a_folder_that_is_not_a_previous_export(
    diamond: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """audit2 F20: `--force` replaces only what an export wrote (its pipeline.lock, beside
    nothing else); a user's folder is refused by name, its files listed, nothing deleted, and
    the refusal does not suggest --force."""
    mine = tmp_path / "important"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (mine / "nodes").mkdir()
    export = tmp_path / "export"
    assert cli("bundle", "export", "shapes", str(export)).code == 0
    (export / "notes.txt").write_text("mine")
    handmade = tmp_path / "handmade"
    shutil.copytree(export, handmade)
    (handmade / "notes.txt").unlink()
    (handmade / "pipeline.lock").write_text("format = 1\n")  # a lock nodepipe did not write
    for folder, named in ((mine, "thesis.tex"), (export, "notes.txt"), (handmade, "pipeline.lock")):
        before = snapshot_tree(folder)
        for extra in ((), ("--force",)):
            refused = cli("bundle", "export", "shapes", str(folder), *extra)
            assert refused.code == 4, (folder, extra, refused.stderr)
            assert str(folder) in refused.stderr and named in refused.stderr
            assert "not a bundle nodepipe exported" in refused.stderr
            assert "--force" not in refused.stderr
            assert snapshot_tree(folder) == before
    assert [p.name for p in tmp_path.iterdir() if ".nodepipe-" in p.name] == []


def snapshot_tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_export_never_replaces_the_workspace_or_its_own_folders(
    diamond: nodepipe.Workspace, cli: CliRunner
) -> None:
    """`--force` replaces a folder whole: the workspace itself, a folder holding it, and its
    .nodepipe/ and nodes/ folders are refused, and nothing is deleted."""
    root = diamond.root
    node = diamond.nodes.path("load")
    before = snapshot(diamond)
    top = sorted(p.name for p in root.iterdir())
    for target in (root, root.parent, root / ".nodepipe", node, node / "code"):
        refused = cli("bundle", "export", "shapes", str(target), "--force")
        assert refused.code == 2, (target, refused.stdout, refused.stderr)
        assert "inside its own folders" in refused.stderr
        assert snapshot(diamond) == before
        assert sorted(p.name for p in root.iterdir()) == top
    assert (node / "code" / "main.py").is_file()


GOOD = """\
format = 1
[pipeline]
name = "good"
[nodes.load]
[nodes.clean]
[[edges]]
from = "load"
to = "clean"
slot = "01"
"""

BAD_BUNDLES = {
    "unknown key": (GOOD.replace("[nodes.clean]", "[nodes.clean]\ncolour = 1"), "colour"),
    "absolute path": (
        GOOD.replace("[nodes.clean]", '[nodes.clean]\npath = "/etc/clean"'),
        "absolute",
    ),
    "escaping path": (
        GOOD.replace("[nodes.clean]", '[nodes.clean]\npath = "../outside/clean"'),
        "outside the bundle",
    ),
    "malformed TOML": (
        GOOD.replace("[nodes.clean]", "[nodes.clean"),
        "pipeline.toml:5:13: malformed TOML",
    ),
    "unknown format": (GOOD.replace("format = 1", "format = 9"), "format 9"),
    "cycle": (
        GOOD + '[[edges]]\nfrom = "clean"\nto = "load"\nslot = "01"\n',
        "cycle",
    ),
    "missing include": (
        GOOD + '[includes.feat]\nsource = "../nowhere"\n',
        "nowhere",
    ),
}


@pytest.mark.parametrize("case", [*BAD_BUNDLES, "missing node folder", "missing lock"])
def test_a_bad_bundle_is_refused_with_the_workspace_unchanged(
    case: str, lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    toml, expected = BAD_BUNDLES.get(case, (GOOD, ""))
    code = {"nodes/load": APPEND_INPUTS, "nodes/clean": APPEND_INPUTS}
    bundle = write_bundle(tmp_path / "bundle", toml, code, template)
    if case == "missing node folder":
        shutil.rmtree(bundle / "nodes" / "clean")
        expected = "nodes/clean/code is missing"
    if case == "missing lock":
        (bundle / "nodes" / "clean" / "code" / "uv.lock").unlink()
        expected = "uv.lock is missing"
    before = snapshot(lab)
    checked = cli("bundle", "check", str(bundle))
    assert checked.code == 2 and expected in flat(checked.stdout), checked.stdout
    refused = cli("bundle", "import", str(bundle))
    assert refused.code == 2, refused.stderr
    assert "bundle import:" in refused.stderr and expected in flat(refused.stderr)
    assert snapshot(lab) == before
    assert not (lab.root / "libs").exists()


def test_check_accepts_a_good_bundle_and_changes_nothing(
    lab: nodepipe.Workspace, tmp_path: Path, template: Path, cli: CliRunner
) -> None:
    code = {"nodes/load": APPEND_INPUTS, "nodes/clean": APPEND_INPUTS}
    bundle = write_bundle(tmp_path / "bundle", GOOD, code, template)
    before = snapshot(lab)
    checked = cli("bundle", "check", str(bundle), "--json")
    assert checked.code == 0
    assert checked.json()["problems"] == [] and checked.json()["nodes"] == 2
    assert snapshot(lab) == before


def test_a_re_import_over_an_existing_pipeline_names_the_tag_to_give(
    diamond: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """``bundle import DIR`` of a bundle whose pipeline is already in the workspace (imported
    before, or the one exported): refused saying only "a pipeline tagged 'shapes' already
    exists". The refusal names the way out, ``--name`` (a hint each surface words: the web
    app's "Import bundle… (Tag)"), and nothing is written."""
    bundle = tmp_path / "bundle"
    assert cli("bundle", "export", "shapes", str(bundle)).code == 0
    before = snapshot(diamond)
    refused = cli("bundle", "import", str(bundle))
    assert refused.code == 4, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert "a pipeline tagged 'shapes' already exists" in words
    assert f"`nodepipe bundle import {bundle} --name NEW_TAG`" in words
    assert snapshot(diamond) == before
    assert cli("bundle", "import", str(bundle), "--name", "shapes-2").code == 0


def test_a_bundle_named_by_a_file_is_refused_naming_its_folder(
    diamond: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    """A bundle is its folder; given its ``pipeline.toml`` (or any file) ``bundle import``,
    ``bundle check`` and ``pipeline include`` said "no pipeline.toml in …/pipeline.toml", or
    that nothing was found where the file is. Each now says it is a file, and names the
    folder to give when the file is a ``pipeline.toml``."""
    bundle = tmp_path / "bundle"
    assert cli("bundle", "export", "shapes", str(bundle)).code == 0
    toml = bundle / "pipeline.toml"
    said = f"{toml} is a file, not a bundle's folder: name its folder, {bundle}"
    for command in (
        ("bundle", "import", str(toml), "--name", "other"),
        ("bundle", "check", str(toml)),
        ("pipeline", "include", "shapes", str(toml), "--as", "again"),
    ):
        refused = cli(*command)
        assert refused.code == 2, (command, refused.stdout + refused.stderr)
        assert said in " ".join((refused.stdout + refused.stderr).split()), command
