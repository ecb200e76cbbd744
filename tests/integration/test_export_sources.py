"""``package build`` and ``bundle export`` refuse, before writing anything, a node whose
environment is built from a folder outside the nodes they carry (a ``--path`` project): the
package or bundle could not be imported anywhere (an import refuses such a node). The message
names the node, the folder and the fix (a snapshot); once the node takes a snapshot instead,
the build works and the package pulls into another workspace.
"""

from __future__ import annotations

from pathlib import Path

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from support.model_pipeline import states, trained_model
from support.wheels import local_project


def test_build_and_export_refuse_a_node_installing_a_folder_from_outside(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, offline_uv: Path
) -> None:
    trained = trained_model(lab)
    tool = local_project(tmp_path / "outside" / "tool", "outtool", "0.1", "X = 1\n")
    trained.envs.add("train", [], path=str(tool))
    before = snapshot(trained)
    dist, bundle = tmp_path / "dist", tmp_path / "bundle"
    commands = {
        dist: ("package", "build", "model", "--destination", str(dist)),
        tmp_path / "dist-data": (
            "package",
            "build",
            "model",
            "--with-data",
            "--destination",
            str(tmp_path / "dist-data"),
        ),
        bundle: ("bundle", "export", "model", str(bundle)),
    }
    for target, command in commands.items():
        refused = cli(*command)
        assert refused.code == 2, refused.stdout + refused.stderr
        words = " ".join(refused.stderr.split())
        assert "node 'train' installs from outside the nodes exported with it" in words
        assert str(tool) in words, "the folder is named"
        train = lab.nodes.find("train").id  # a hint names a node by id: tags repeat
        assert f"`nodepipe env add {train} --snapshot DIR`" in words, "the fix is named"
        assert not target.exists(), f"{command[:2]} wrote {target}"
        assert snapshot(trained) == before, "a scratch folder or a row was left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab", "outside", "wheels"]

    trained.envs.remove("train", ["outtool"])  # the fix the message names
    trained.envs.add("train", [], snapshot=str(tool))
    built = cli("package", "build", "model", "--destination", str(dist), "--json")
    assert built.code == 0, built.stderr
    other = nodepipe.init(tmp_path / "other")
    pulled = other.packages.pull(built.json()["wheel"])
    other.runs.run(RunRequest(pulled.imported.view.pipeline.tag))
    assert states(other, pulled.imported.view.pipeline.tag) == dict.fromkeys(
        ("train", "predict"), NodeState.COMPLETED
    )
    other.close()


def test_a_library_node_of_another_pipeline_is_refused_on_export(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, offline_uv: Path
) -> None:
    """A library link names another node's folder: the export carries it when that node is
    exported too (``test_library_nodes``); a library node of another pipeline is not."""
    trained = trained_model(lab)
    trained.pipelines.new("shelf")
    lib = trained.nodes.new("shelf", "lib")
    local_project(trained.nodes.path(lib.id) / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    added = cli("env", "add", "predict", "--from-node", "lib")
    assert added.code == 0, added.stderr
    before = snapshot(trained)
    refused = cli("bundle", "export", "model", str(tmp_path / "bundle"))
    assert refused.code == 2, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert "node 'predict' installs 'mylib' from library node 'lib', which is not exported" in words
    assert "export a pipeline holding both nodes, or take a snapshot" in words
    assert not (tmp_path / "bundle").exists()
    assert snapshot(trained) == before


def test_a_package_of_some_nodes_must_carry_the_library_nodes_they_install(
    lab: nodepipe.Workspace, tmp_path: Path, cli: CliRunner, offline_uv: Path
) -> None:
    trained = trained_model(lab)
    lib = trained.nodes.new("model", "lib")
    local_project(trained.nodes.path(lib.id) / "code" / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    assert cli("env", "add", "predict", "--from-node", "lib").code == 0
    before = snapshot(trained)
    dist = tmp_path / "dist"
    refused = cli("package", "build", "model", "--node", "predict", "--destination", str(dist))
    assert refused.code == 2, refused.stdout + refused.stderr
    words = " ".join(refused.stderr.split())
    assert "node 'predict' chosen for the package installs from a node left out" in words
    assert "../../lib/code/mylib" in words and "choose that node too" in words
    assert not dist.exists()
    assert snapshot(trained) == before
    both = ("--node", "predict", "--node", "lib", "--destination", str(dist), "--json")
    built = cli("package", "build", "model", *both)
    assert built.code == 0, built.stderr
    other = nodepipe.init(tmp_path / "other")
    pulled = other.packages.pull(built.json()["wheel"])
    assert {n.node.tag for n in pulled.imported.view.nodes} == {"predict", "lib"}
    other.close()
