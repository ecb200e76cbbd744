"""Library nodes (issue 14, finding 5): a node holding a package other nodes install with
``env add NODE --from-node LIB``; its edits make them stale without any edge, and a duplicated
pipeline's copies use the copied library node."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from integration.test_external_code import answer, states
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.external_code import library_nodes, library_path_part, set_library_nodes
from support.wheels import local_project

WRITES_ANSWER = """\
import mylib, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mylib.ANSWER))
"""

WRITES_OK = "import nodepipe_node as node\n(node.data_dir() / 'ok.txt').write_text('ok')\n"


@pytest.fixture
def library(chain: nodepipe.Workspace, offline_uv: Path) -> Path:
    """Node ``lib`` in ``baseline`` holding package ``mylib`` in ``code/mylib``; its folder."""
    lib = chain.nodes.new("baseline", "lib")
    code = chain.nodes.path(lib.id) / "code"
    for tag in ("load", "clean", "lib"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(WRITES_OK)
    (chain.nodes.path("plot") / "code" / "main.py").write_text(WRITES_ANSWER)
    return local_project(code / "mylib", "mylib", "0.1", "ANSWER = 1\n")


def test_a_library_nodes_edits_make_its_users_stale(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    added = cli("env", "add", "plot", "--from-node", "lib", "--json")
    assert added.code == 0, added.stdout + added.stderr
    assert added.json()["origins"] == {"mylib": "library node lib"}
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "1"

    (library / "mylib" / "__init__.py").write_text("ANSWER = 22\n")  # a new size (.pyc)
    state, reasons = states(chain)["plot"]
    assert state is NodeState.STALE
    assert "shared code changed: mylib (mylib/__init__.py)" in reasons
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "22"

    assert cli("env", "add", "plot", "--from-node", "plot").code != 0  # not its own library
    removed = cli("env", "remove", "plot", "mylib", "--json")
    assert removed.code == 0 and removed.json()["origins"] == {}
    pyproject = (chain.nodes.path("plot") / "code" / "pyproject.toml").read_text()
    assert "library-nodes" not in pyproject


def test_a_duplicated_pipeline_uses_its_copy_of_the_library_node(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    assert cli("env", "add", "plot", "--from-node", "lib").code == 0
    chain.runs.run(RunRequest("baseline"))
    chain.pipeline_copies.duplicate("baseline", "copy")
    shown = cli("env", "show", "plot", "-p", "copy", "--json").json()
    assert shown["origins"] == {"mylib": "library node lib"}
    copied_plot = chain.nodes.path(shown["node_id"]) / "code"
    lib_copy = cli("node", "show", "lib", "-p", "copy", "--json").json()
    copied_lib = chain.nodes.path(lib_copy["node"]["id"])
    assert copied_lib != library.parent.parent
    assert f"../../{copied_lib.name}/code/mylib" in (copied_plot / "pyproject.toml").read_text()
    assert f"../../{copied_lib.name}/code/mylib" in (copied_plot / "uv.lock").read_text()

    chain.runs.run(RunRequest("copy"))
    out = chain.nodes.path(shown["node_id"]) / "data" / "answer.txt"
    assert out.read_text() == "1"
    (copied_lib / "code" / "mylib" / "mylib" / "__init__.py").write_text("ANSWER = 333\n")
    copy_plot = next(
        s for s in chain.runs.status("copy").nodes.values() if s.item.node.tag == "plot"
    )
    assert copy_plot.state is NodeState.STALE
    assert "shared code changed: mylib (mylib/__init__.py)" in copy_plot.reasons
    assert states(chain)["plot"][0] is NodeState.COMPLETED  # the original's library is untouched
    chain.runs.run(RunRequest("copy"))
    assert out.read_text() == "333"


def test_a_bundle_carries_the_link_to_its_own_library_node(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner, tmp_path: Path
) -> None:
    assert cli("env", "add", "plot", "--from-node", "lib").code == 0
    chain.runs.run(RunRequest("baseline"))
    chain.bundles.export("baseline", tmp_path / "bundle", with_data=True)
    exported = (tmp_path / "bundle" / "nodes" / "plot" / "code" / "pyproject.toml").read_text()
    assert "../../lib/code/mylib" in exported and 'mylib = "lib"' in exported

    assert chain.bundles.check(tmp_path / "bundle").problems == ()  # the link stays inside
    imported = chain.bundles.import_(tmp_path / "bundle", name="again")
    assert "plot" in imported.completed  # its lock, code and library match pipeline.lock
    ids = {item.node.tag: item.node.id for item in imported.view.nodes}
    code = chain.nodes.path(ids["plot"]) / "code"
    assert f"../../{ids['lib']}/code/mylib" in (code / "pyproject.toml").read_text()
    new_lib = chain.nodes.path(ids["lib"]) / "code" / "mylib" / "mylib" / "__init__.py"
    new_lib.write_text("ANSWER = 5555\n")
    again = {s.item.node.tag: s for s in chain.runs.status("again").nodes.values()}
    assert "shared code changed: mylib (mylib/__init__.py)" in again["plot"].reasons
    assert states(chain)["plot"][0] is NodeState.COMPLETED
    chain.runs.run(RunRequest("again"))
    assert (chain.nodes.path(ids["plot"]) / "data" / "answer.txt").read_text() == "5555"
    chain.bundles.export("again", tmp_path / "second")
    second = (tmp_path / "second" / "nodes" / "plot" / "code" / "pyproject.toml").read_text()
    assert second == exported


def test_rm_of_a_library_node_in_use_is_refused_and_replace_repoints_its_users(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    assert cli("env", "add", "plot", "--from-node", "lib").code == 0
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "plot") == "1"
    lib_folder = library.parent.parent
    plot_code = chain.nodes.path("plot") / "code"

    before = snapshot(chain)
    refused = cli("node", "rm", "lib", "-p", "baseline", "--yes")
    assert refused.code == 4, refused.stderr
    assert "'lib' is the library node of plot" in refused.stderr
    plot_id = chain.nodes.show("plot").node.id
    assert f"`nodepipe env remove {plot_id} mylib` (plot)" in refused.stderr
    assert "`nodepipe node replace lib NEW --pipeline baseline`" in refused.stderr
    not_a_library = cli("node", "replace", "lib", "load", "-p", "baseline", "--yes")
    assert not_a_library.code == 2, not_a_library.stderr
    assert "'load' holds no package of that name" in not_a_library.stderr
    assert snapshot(chain) == before and lib_folder.is_dir()

    made = cli("node", "duplicate", "lib", "-p", "baseline", "--tag", "lib2", "--json")
    new_lib = chain.nodes.path(made.json()[0]["id"])
    package = new_lib / "code" / "mylib"
    (package / "mylib" / "__init__.py").write_text("ANSWER = 2\n")
    pyproject = package / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"0.1"', '"0.2"'))  # plot relocks

    asked = cli("node", "replace", "lib", "lib2", "-p", "baseline")  # no terminal to ask on
    assert asked.code == 2 and "plot will install its package from lib2" in asked.stderr
    swapped = cli("node", "replace", "lib", "lib2", "-p", "baseline", "--yes", "--json")
    assert swapped.code == 0, swapped.stderr
    assert swapped.json()["relinked"] == ["plot"]
    assert not lib_folder.exists()
    for name in ("pyproject.toml", "uv.lock"):
        text = (plot_code / name).read_text()
        assert f"../../{new_lib.name}/code/mylib" in text and lib_folder.name not in text
    state, reasons = states(chain)["plot"]
    assert state is NodeState.STALE
    assert reasons == ("shared code changed: mylib (mylib/__init__.py, pyproject.toml)",)
    ran = cli("run", "baseline")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert answer(chain, "plot") == "2"
    assert states(chain)["plot"] == (NodeState.COMPLETED, ())  # relocked before fingerprinted

    third = cli("node", "duplicate", "lib2", "-p", "baseline", "--tag", "lib3", "--json")
    kept = cli("node", "replace", "lib2", "lib3", "-p", "baseline", "--keep")
    assert kept.code == 0 and "plot now installs its library package from lib3" in kept.stdout
    assert f"../../{third.json()[0]['id']}/code/mylib" in (plot_code / "uv.lock").read_text()
    assert states(chain)["plot"] == (NodeState.COMPLETED, ())  # lib3 holds the same code
    assert cli("node", "rm", "lib2", "-p", "baseline", "--yes").code == 0  # nobody uses it now


def test_a_library_node_used_from_another_pipeline_is_kept_for_it(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    assert cli("env", "add", "plot", "--from-node", "lib").code == 0
    assert cli("pipeline", "new", "scratch").code == 0
    copied = cli("node", "duplicate", "plot", "-p", "baseline", "--into", "scratch", "--json")
    assert copied.code == 0, copied.stderr  # its copy still links baseline's lib
    assert cli("node", "duplicate", "lib", "-p", "baseline", "--tag", "lib2").code == 0
    lib_folder = library.parent.parent

    before = snapshot(chain)
    gone = cli("pipeline", "rm", "baseline", "--yes")  # plot goes too, scratch's copy stays
    assert gone.code == 4 and "'lib' is the library node of plot" in gone.stderr
    assert "package mylib, in pipeline scratch)" in " ".join(gone.stderr.split())  # where
    removed = cli("node", "rm", "lib", "-p", "baseline", "--yes")  # its users in every pipeline
    words = " ".join(removed.stderr.split())
    assert (
        removed.code == 4 and "in pipeline scratch)" in words and "in pipeline baseline)" in words
    )
    moved = cli("node", "replace", "lib", "lib2", "-p", "baseline", "--yes")
    assert moved.code == 4, moved.stderr
    assert "replacing the node was refused" in moved.stderr  # scratch's copy uses it
    assert snapshot(chain) == before and lib_folder.is_dir()

    kept = cli("node", "replace", "lib", "lib2", "-p", "baseline", "--keep", "--json")
    assert kept.code == 0 and kept.json()["relinked"] == ["plot"]  # only baseline's users
    copy_code = chain.nodes.path(copied.json()[0]["id"]) / "code"
    assert f"../../{lib_folder.name}/code/mylib" in (copy_code / "uv.lock").read_text()


def test_an_import_refuses_a_library_link_to_a_node_the_bundle_does_not_hold(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner, tmp_path: Path
) -> None:
    """A bundle's ``library-nodes`` entry naming no node of the bundle (here the id of a node
    of the importing workspace) is refused, naming it: it never resolves to an unrelated
    node of the target workspace, and never fails later in uv's words."""
    assert cli("env", "add", "plot", "--from-node", "lib").code == 0
    bundle = tmp_path / "bundle"
    exported = cli("bundle", "export", "baseline", str(bundle))
    assert exported.code == 0, exported.stderr
    code = bundle / "nodes" / "plot" / "code"
    assert library_nodes(code) == {"mylib": "lib"}
    theirs = chain.nodes.path("lib").name  # a node of this workspace, not of the bundle
    for name in ("pyproject.toml", "uv.lock"):
        text = (code / name).read_text()
        (code / name).write_text(text.replace(library_path_part("lib"), library_path_part(theirs)))
    set_library_nodes(code / "pyproject.toml", {"mylib": theirs})
    pipelines = [p.id for p in chain.pipelines.list()]
    folders = sorted((chain.root / "nodes").iterdir())
    checked = ("bundle", "check", str(bundle))  # check refuses what import refuses
    for command in (checked, ("bundle", "import", str(bundle), "--name", "copy")):
        refused = cli(*command)
        assert refused.code == 2, refused.stdout + refused.stderr
        words = " ".join((refused.stdout + refused.stderr).split())
        assert "node 'plot' installs from library nodes the bundle does not hold" in words
        assert f"mylib = '{theirs}'" in words and "export the library node with it" in words
    assert [p.id for p in chain.pipelines.list()] == pipelines
    assert sorted((chain.root / "nodes").iterdir()) == folders


def test_restoring_a_run_whose_library_node_was_replaced_says_so_before_uv(
    chain: nodepipe.Workspace, library: Path, cli: CliRunner
) -> None:
    """A walkthrough: the run's environment installed mylib from library node lib, since
    replaced by lib2 (and so removed). The library's code is not stored with a run, so the
    restore cannot be made; it said so in uv's words ("Distribution not found at: file://…",
    exit 7). It names the library node and what became of it, exit 4, and changes nothing."""
    assert cli("env", "add", "plot", "--from-node", "lib").code == 0
    ran = chain.runs.run(RunRequest("baseline"))
    assert ran.run_id is not None
    lib_id = library.parent.parent.name
    aside = library.with_name("mylib-aside")
    library.rename(aside)  # lib is there, its package folder is not
    emptied = cli("env", "restore", "plot", "--run", ran.run_id)
    assert emptied.code == 4, emptied.stderr
    assert f"library node 'lib' ({lib_id}), which no longer holds it" in emptied.stderr
    aside.rename(library)
    chain.node_copies.duplicate(["lib"], "baseline", tag="lib2")
    replaced = cli("node", "replace", "lib", "lib2", "-p", "baseline", "--yes")
    assert replaced.code == 0, replaced.stderr
    assert not (chain.context.layout.nodes_dir / lib_id).exists()
    code = chain.nodes.path("plot") / "code"
    before = snapshot(chain)
    files = {name: (code / name).read_bytes() for name in ("pyproject.toml", "uv.lock")}

    restored = cli("env", "restore", "plot", "--run", ran.run_id)
    made = cli("node", "restore", "plot", "--run", ran.run_id, "--as", "plot-then")
    for refused in (restored, made):
        assert refused.code == 4, refused.stderr
        assert (
            f"the environment node 'plot' had in run {ran.run_id} cannot be restored: it "
            f"installed mylib from library node {lib_id}, which was replaced or removed since "
            "(the node installs mylib from library node 'lib2' now)"
        ) in refused.stderr
        assert "not stored with a run, so nothing was changed" in refused.stderr
        assert "restore a run of 'plot' made since, or run it to record one" in refused.stderr
        assert "uv" not in refused.stderr and "Distribution not found" not in refused.stderr
    assert snapshot(chain) == before
    assert {name: (code / name).read_bytes() for name in files} == files

    again = chain.runs.run(RunRequest("baseline", only=["plot"], force=True))  # made since
    assert again.run_id is not None
    assert cli("env", "restore", "plot", "--run", again.run_id).code == 0
