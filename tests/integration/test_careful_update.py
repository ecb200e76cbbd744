"""The careful update workflow (issue 14, finding 8): duplicate a node with a new tag, update
it, run it alone, swap it in; tags unique in a pipeline; deleting commands ask first."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe import NodeState
from nodepipe.services.runs.service import RunRequest
from support.wheels import local_project

READ_TOOL = """\
import mytool, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mytool.ANSWER))
"""
READ_PARENT = """\
import nodepipe_node as node
text = (node.parent("01").data_dir / "answer.txt").read_text()
(node.data_dir() / "seen.txt").write_text(text)
"""


def statuses(ws: nodepipe.Workspace) -> dict[str, tuple[NodeState, tuple[str, ...]]]:
    return {
        s.item.node.tag: (s.state, tuple(s.reasons))
        for s in ws.runs.status("baseline").nodes.values()
    }


def test_duplicate_update_run_alone_then_replace(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    library = local_project(tmp_path / "libs" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    chain.envs.add("clean", [], snapshot=str(library))
    (chain.nodes.path("clean") / "code" / "main.py").write_text(READ_TOOL)
    (chain.nodes.path("plot") / "code" / "main.py").write_text(READ_PARENT)
    result = chain.runs.run(RunRequest("baseline"))
    assert result.finished is not None and result.finished.failed == 0, cli("logs", "plot").stdout
    assert (chain.nodes.path("plot") / "data" / "seen.txt").read_text() == "1"

    made = cli("node", "duplicate", "clean", "-p", "baseline", "--tag", "clean-v2", "--json")
    assert made.code == 0, made.stderr
    copy = made.json()[0]
    assert copy["tag"] == "clean-v2" and copy["state"] == "ready"
    shown = chain.nodes.show(copy["id"])
    assert [(x.slot, x.tag) for x in shown.inputs] == [("01", "load")]  # same parent, same slot
    assert shown.outputs == ()
    assert list((chain.nodes.path(copy["id"]) / "data").iterdir()) == []  # without data

    (library / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
    assert cli("env", "update-snapshot", "clean-v2", "mytool").code == 0
    ran = cli("run", "baseline", "clean-v2")
    assert ran.code == 0, ran.stdout + ran.stderr
    assert (chain.nodes.path(copy["id"]) / "data" / "answer.txt").read_text() == "2"
    assert (chain.nodes.path("clean") / "data" / "answer.txt").read_text() == "1"  # untouched
    assert statuses(chain)["plot"][0] is NodeState.COMPLETED  # still reads the old clean

    old = chain.nodes.get("clean")
    old_folder = chain.nodes.path("clean")
    swapped = cli("node", "replace", "clean", "clean-v2", "-p", "baseline", "--yes", "--json")
    assert swapped.code == 0, swapped.stderr
    assert swapped.json()["rewired"] == ["01: plot"]
    assert not old_folder.exists()
    assert [(x.slot, x.tag) for x in chain.nodes.show("plot").inputs] == [("01", "clean-v2")]
    state, reasons = statuses(chain)["plot"]
    assert state is NodeState.STALE
    assert reasons == (f"input 01 now from clean-v2 (was deleted node {old.id})",)  # once
    assert cli("run", "baseline").code == 0
    assert (chain.nodes.path("plot") / "data" / "seen.txt").read_text() == "2"


def test_replace_keeps_the_old_node_with_keep_and_refuses_a_cycle(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    kept = cli("node", "replace", "clean", "load", "-p", "baseline", "--keep")
    assert kept.code == 0, kept.stderr
    assert [(x.slot, x.tag) for x in chain.nodes.show("plot").inputs] == [("01", "load")]
    assert chain.nodes.show("clean").outputs == ()  # kept, without children
    before = snapshot(chain)
    cycle = cli("node", "replace", "load", "plot", "-p", "baseline", "--keep")
    assert cycle.code == 4 and "cycle" in cycle.stderr
    assert snapshot(chain) == before


def test_a_replace_that_would_be_refused_is_refused_before_it_asks(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """`node replace clean clean` (or a replace closing a cycle) asked to delete clean's
    folder first, then, confirmed with --yes, was refused: the question came for a change
    that could never happen. Refused at once now, without --yes too; nothing changed."""
    before = snapshot(chain)
    itself = cli("node", "replace", "clean", "clean", "-p", "baseline")
    assert itself.code == 2 and "'clean' cannot replace itself" in itself.stderr, itself.stderr
    assert "would delete" not in itself.stderr
    own_child = cli("node", "replace", "load", "clean", "-p", "baseline")
    assert own_child.code == 4, own_child.stderr
    assert "'clean' reads 'load', so it would read itself (a cycle)" in own_child.stderr
    assert "would delete" not in own_child.stderr
    below = cli("node", "replace", "load", "plot", "-p", "baseline")
    assert below.code == 4 and "close a cycle" in below.stderr, below.stderr
    assert "would delete" not in below.stderr
    assert snapshot(chain) == before


def test_a_second_node_with_the_same_tag_is_refused(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    before = snapshot(chain)
    refused = cli("node", "new", "baseline", "--tag", "clean")
    assert refused.code == 4 and "already has a node tagged 'clean'" in refused.stderr
    assert cli("node", "rename", "plot", "clean").code == 4
    assert cli("node", "duplicate", "plot", "-p", "baseline", "--tag", "load").code == 4
    assert snapshot(chain) == before
    assert cli("node", "new", "baseline", "--tag", "clean", "--allow-duplicate-tag").code == 0
    copy = cli("node", "duplicate", "load", "-p", "baseline", "--json").json()[0]
    assert copy["tag"] == "load-copy"  # a free tag, not a second "load"


def test_a_reference_whose_tag_the_pipeline_has_is_refused_naming_the_fix(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.pipelines.new("other")
    mine = chain.nodes.new("other", "load")  # the pipeline has its own "load"
    before = snapshot(chain)
    # plot brings its ancestors clean and load along: load's tag is taken there
    refused = cli("node", "reference", "plot", "-p", "baseline", "--into", "other")
    message = " ".join(refused.stderr.split())
    assert refused.code == 4
    assert f"pipeline 'other' already has a node tagged 'load' ({mine.id})" in message
    assert "a reference has no alias" in message
    assert f"`nodepipe node rename {mine.id} NEW_TAG`" in message
    assert snapshot(chain) == before  # nothing shown, not even plot or clean
    assert cli("node", "rename", mine.id, "load-mine").code == 0
    added = cli("node", "reference", "plot", "-p", "baseline", "--into", "other", "--json")
    assert added.code == 0 and len(added.json()) == 3
    chain.pipelines.new("third")
    chain.nodes.new("third", "clean")
    kept = cli(
        "node", "reference", "clean", "-p", "baseline", "--into", "third", "--allow-duplicate-tag"
    )
    assert kept.code == 0
    tags = sorted(item.node.tag for item in chain.pipelines.show("third").nodes)
    assert tags == ["clean", "clean", "load"]


def test_node_rm_asks_and_a_script_without_yes_deletes_nothing(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.runs.run(RunRequest("baseline"))
    folder = chain.nodes.path("plot")
    before = snapshot(chain)
    refused = cli("node", "rm", "plot", "-p", "baseline")
    assert refused.code == 2
    plot = chain.nodes.get("plot")
    assert f"node plot ({plot.id}): its folder (code, environment) and" in refused.stderr
    assert "nothing was deleted" in refused.stderr
    # the refusal names the command to paste, with the names the user gave, not "… --yes"
    assert pasteable(refused.stderr) == "nodepipe node rm --pipeline baseline plot --yes"
    assert snapshot(chain) == before and folder.is_dir()
    cleared = cli("node", "clear-data", "clean")
    assert cleared.code == 2
    assert pasteable(cleared.stderr) == "nodepipe node clear-data clean --yes"
    assert any((chain.nodes.path("clean") / "data").iterdir())
    dropped = cli("pipeline", "rm", "baseline")
    assert dropped.code == 2 and pasteable(dropped.stderr) == "nodepipe pipeline rm baseline --yes"
    assert snapshot(chain) == before
    again = shlex.split(pasteable(refused.stderr))
    assert again[0] == "nodepipe" and cli(*again[1:]).code == 0
    assert not folder.exists()


def test_outputs_are_what_data_and_reports_hold_not_the_folders_themselves(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """A node that never ran was said to have "8.0 KB of outputs" (its empty data/ and
    reports/ folders' own blocks), and clearing them asked, so a script was refused."""
    clean = chain.nodes.get("clean")
    assert cli("node", "clear-data", "clean").code == 0  # nothing to lose: nothing asked
    refused = cli("node", "rm", "clean", "-p", "baseline")
    assert refused.code == 2
    assert f"node clean ({clean.id}): its folder (code, environment) and no outputs" in (
        " ".join(refused.stderr.split())
    )
    marker = chain.nodes.path("clean") / "data" / "done.flag"
    marker.touch()  # an empty file is an output too
    kept = cli("node", "clear-data", "clean")
    assert kept.code == 2 and "0 bytes of outputs" in kept.stderr and marker.exists()
    marker.write_text("x" * 5000)
    asked = cli("node", "clear-data", "clean")
    assert asked.code == 2 and " KB of outputs" in asked.stderr and marker.exists()


def test_pipeline_rm_says_the_pipeline_is_deleted_and_counts_read_right(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    """It said only "removed 3 node(s) from baseline"; a show said "1 edges", an export
    "(1 nodes)"."""
    chain.pipelines.new("single")
    chain.nodes.new("single", "only")
    exported = cli("bundle", "export", "single", str(tmp_path / "single"))
    assert exported.stdout.startswith(f"exported pipeline single to {tmp_path / 'single'} (1 node)")
    assert cli("disconnect", "clean", "plot", "-p", "baseline").code == 0
    shown = cli("pipeline", "show", "baseline").stdout
    assert "— 3 nodes, 1 edge\n" in shown
    deleted = cli("pipeline", "rm", "baseline", "--yes")
    assert deleted.code == 0
    assert deleted.stdout.splitlines()[0] == "deleted pipeline baseline (3 nodes)"


def pasteable(stderr: str) -> str:
    """The command a refusal to delete names (``confirm with `…```), read back as one line."""
    found = re.search(r"confirm with `([^`]*)`", " ".join(stderr.split()))
    assert found is not None, stderr
    return found.group(1)


def test_node_rm_asks_on_a_terminal(chain: nodepipe.Workspace) -> None:
    """On a terminal the question names what goes; answering no deletes nothing."""
    chain.runs.run(RunRequest("baseline"))
    folder = chain.nodes.path("plot")
    command = [
        str(Path(sys.executable).parent / "nodepipe"),
        "node",
        "rm",
        "plot",
        "-p",
        "baseline",
    ]
    for answer, code, exists in ((b"n\n", 2, True), (b"y\n", 0, False)):
        primary, secondary = os.openpty()
        process = subprocess.Popen(
            command, stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        os.close(secondary)
        os.write(primary, answer)
        out, err = process.communicate(timeout=120)
        os.close(primary)
        assert process.returncode == code, out + err
        assert b"node rm will delete:" in err and b"node plot (" in err
        assert folder.exists() is exists


def test_merge_renames_a_later_copy_and_refuses_two_references_with_one_tag(
    lab: nodepipe.Workspace, cli: CliRunner
) -> None:
    for pipeline in ("p1", "p2", "a", "b"):
        lab.pipelines.new(pipeline)
    for pipeline in ("p1", "p2", "a", "b"):
        lab.nodes.new(pipeline, "own")
    lab.nodes.new("p1", "x")
    lab.nodes.new("p2", "x")
    lab.node_copies.reference(["x"], "a", "p1")
    lab.node_copies.reference(["x"], "b", "p2")
    before = snapshot(lab)
    refused = cli("pipeline", "merge", "a", "b", "--name", "m")
    assert (
        refused.code == 4
        and "two nodes tagged 'x' that none of its pipelines own" in refused.stderr
    )
    assert snapshot(lab) == before
    merged = cli("pipeline", "merge", "a", "b", "--name", "m", "--allow-duplicate-tag", "--json")
    assert merged.code == 0, merged.stderr
    tags = sorted(n["tag"] for n in merged.json()["nodes"])
    assert tags == ["own", "own", "x", "x"]
    copies = cli("pipeline", "merge", "p1", "p2", "--name", "n")  # p2's own nodes are copied
    assert "renamed own of p2 → own-copy (one tag per pipeline)" in copies.stdout
    assert "renamed x of p2 → x-copy (one tag per pipeline)" in copies.stdout
