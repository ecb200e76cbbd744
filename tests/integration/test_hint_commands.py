"""A refusal's hint names only what the command in hand can do, as a command that works.

Found by a walkthrough of the README: ``node restore --as TAG`` with a taken tag said "or
allow a duplicate tag", which ``node restore`` cannot; ``env add --from-node LIB`` of a library
node holding several packages said "name one" without naming ``--package``.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner
from integration.test_library_nodes import WRITES_OK
from support.wheels import local_project


def hinted_command(stderr: str) -> list[str]:
    """The command a hint says to run (the last one quoted in backticks), as arguments."""
    return shlex.split(stderr.rsplit("`", 2)[1])


def test_a_taken_tag_offers_the_command_typed_with_the_option_that_keeps_it(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    refused = cli("node", "new", "baseline", "--tag", "clean", "--notes", "it's mine")
    assert refused.code == 4
    assert "already has a node tagged 'clean'" in refused.stderr
    command = hinted_command(refused.stderr)
    assert command == [
        "nodepipe", "node", "new", "baseline", "--tag", "clean", "--notes", "it's mine",
        "--allow-duplicate-tag",
    ]  # fmt: skip
    pasted = cli(*command[1:])
    assert pasted.code == 0, pasted.stderr
    assert [node.tag for node in chain.nodes.list("baseline")].count("clean") == 2


def test_a_restore_under_a_taken_tag_offers_no_option_restore_lacks(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(WRITES_OK)
    assert cli("run", "baseline").code == 0
    run = chain.runs.history("baseline")[0].id
    before = sorted(node.id for node in chain.nodes.list("baseline"))
    refused = cli("node", "restore", "clean", "--run", run, "--as", "plot")
    assert refused.code == 4
    assert "already has a node tagged 'plot'" in refused.stderr
    assert "allow" not in refused.stderr and "duplicate" not in refused.stderr
    assert sorted(node.id for node in chain.nodes.list("baseline")) == before
    assert cli("node", "restore", "clean", "--run", run, "--as", "plot-again").code == 0


def test_a_library_node_with_several_packages_names_the_option_that_chooses(
    chain: nodepipe.Workspace, offline_uv: Path, cli: CliRunner
) -> None:
    lib = chain.nodes.new("baseline", "lib")
    code = chain.nodes.path(lib.id) / "code"
    local_project(code / "mylib", "mylib", "0.1", "ANSWER = 1\n")
    local_project(code / "other", "otherlib", "0.1", "ANSWER = 2\n")
    pyproject = chain.nodes.path("plot") / "code" / "pyproject.toml"
    before = pyproject.read_bytes()

    refused = cli("env", "add", "plot", "--from-node", "lib")
    assert refused.code == 2
    assert "holds several packages (mylib, otherlib)" in refused.stderr
    command = hinted_command(refused.stderr)
    assert command[:5] == ["nodepipe", "env", "add", chain.nodes.get("plot").id, "--from-node"]
    assert command[5:] == [lib.id, "--package", "NAME"]
    assert pyproject.read_bytes() == before

    chosen = cli(*[*command[1:-1], "otherlib"], "--json")
    assert chosen.code == 0, chosen.stderr
    assert chosen.json()["origins"] == {"otherlib": "library node lib"}


def test_a_reference_under_a_taken_tag_offers_a_duplicate_that_names_its_pipeline(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """A walkthrough: the hint said `node duplicate ID --into other --tag NEW_TAG`, which
    failed: duplicate needs the pipeline the node is copied from."""
    chain.pipelines.new("other")
    chain.nodes.new("other", "load")
    refused = cli("node", "reference", "plot", "-p", "baseline", "--into", "other")
    assert refused.code == 4, refused.stderr
    said = " ".join(refused.stderr.split())
    duplicate = shlex.split(said.split("`")[3])
    load = next(node.id for node in chain.nodes.list("baseline") if node.tag == "load")
    assert duplicate == [
        "nodepipe", "node", "duplicate", load, "--pipeline", "baseline", "--into", "other",
        "--tag", "NEW_TAG",
    ]  # fmt: skip
    pasted = cli(*duplicate[1:-1], "load-copy")
    assert pasted.code == 0, pasted.stderr
    assert sorted(node.tag for node in chain.nodes.list("other")) == ["load", "load-copy"]


def test_a_bad_package_name_offers_a_build_of_the_same_pipeline_or_library_node(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """A walkthrough: `package build baseline --alias 1bad` said to run `nodepipe package build
    1bad --alias NAME`, the bad name where the pipeline goes (exit 3: no pipeline '1bad')."""
    dist = str(tmp_path / "dist")
    refused = cli("package", "build", "baseline", "--alias", "1bad", "--destination", dist)
    assert refused.code != 0 and "'1bad' cannot be a Python package name" in refused.stderr
    command = hinted_command(refused.stderr)
    assert command == ["nodepipe", "package", "build", "baseline", "--alias", "NAME"]
    pasted = cli(*command[1:-1], "good-name", "--destination", dist)
    assert pasted.code == 0, pasted.stderr
    assert any(path.name.startswith("good_name-") for path in (tmp_path / "dist").iterdir())

    load = next(node.id for node in chain.nodes.list("baseline") if node.tag == "load")
    refused = cli("package", "build", "--library", "load", "--alias", "1bad", "--destination", dist)
    assert refused.code != 0 and "'1bad' cannot be a Python package name" in refused.stderr
    command = hinted_command(refused.stderr)
    assert command == ["nodepipe", "package", "build", "--library", load, "--alias", "NAME"]
    pasted = cli(*command[1:-1], "load-lib", "--destination", dist)
    assert pasted.code == 0, pasted.stderr


def test_an_unreachable_ray_cluster_offers_the_run_typed_with_its_own_options(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text(WRITES_OK)
    assert cli("run", "baseline").code == 0
    with socket.socket() as closed:  # bound, never listening: nothing answers there
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
        typed = ["run", "baseline", "clean", "--force", "--jobs", "2"]
        refused = cli(*typed, "--executor", "ray", "--ray-address", address, "--shared-fs")
    assert refused.code == 2, refused.stderr
    on_ray, local = (shlex.split(c) for c in refused.stderr.split("`")[3::2][:2])
    assert on_ray == [
        "nodepipe", *typed, "--executor", "ray", "--ray-address", "HOST:PORT", "--shared-fs"
    ]  # fmt: skip
    assert local == ["nodepipe", *typed], "the local run keeps --force and the selection"
    before = {run.id for run in chain.runs.history("baseline")}
    pasted = cli(*local[1:])
    assert pasted.code == 0, pasted.stderr
    (latest,) = [run for run in chain.runs.history("baseline") if run.id not in before]
    ran = {node_run.node_id for node_run in chain.runs.node_runs(latest.id)}
    assert ran == {chain.nodes.find("clean").id}, "--force re-ran the node named, and only it"
