"""The Python API misused as a hurried user misuses it: values of the wrong type where names,
requirements, positions or a run request are taken, and a workspace used after it was closed.
Each is refused with one of nodepipe's errors in its own words (never Python's ``TypeError`` or
``AttributeError`` from deep inside), and changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import snapshot

Call = Callable[[nodepipe.Workspace], object]

WRONG_TYPES: dict[str, Call] = {
    "a pipeline named by a number": lambda ws: ws.nodes.new(123, "b"),  # type: ignore[arg-type]
    "a node tag that is a number": lambda ws: ws.nodes.new("p", 5),  # type: ignore[arg-type]
    "a new pipeline's tag that is a number": lambda ws: ws.pipelines.new(7),  # type: ignore[arg-type]
    "a new project's name that is a number": lambda ws: ws.projects.new(5),  # type: ignore[arg-type]
    "a group's name that is a number": lambda ws: ws.groups.new("p", 5, ["a"]),  # type: ignore[arg-type]
    "a new tag that is a number": lambda ws: ws.nodes.rename("a", 5, pipeline="p"),  # type: ignore[arg-type]
    "no pipeline to show": lambda ws: ws.pipelines.show(None),  # type: ignore[arg-type]
    "a node named by a number": lambda ws: ws.nodes.get(3, pipeline="p"),  # type: ignore[arg-type]
    "a node named by a path": lambda ws: ws.nodes.path(Path("a"), pipeline="p"),  # type: ignore[arg-type]
    "nodes to delete named by numbers": lambda ws: ws.nodes.delete([1], "p"),  # type: ignore[list-item]
    "a pipeline's status by a number": lambda ws: ws.runs.status(5),  # type: ignore[arg-type]
    "a log of a node named by a number": lambda ws: ws.runs.log(5, pipeline="p"),  # type: ignore[arg-type]
    "a run named by a number": lambda ws: ws.runs.node_runs(5),  # type: ignore[arg-type]
    "a run asked for by the pipeline's tag": lambda ws: ws.runs.run("p"),  # type: ignore[arg-type]
    "a run of a pipeline named by a number": lambda ws: ws.runs.run(nodepipe.RunRequest(5)),  # type: ignore[arg-type]
    "a requirement that is a number": lambda ws: ws.envs.add("a", [5], pipeline="p"),  # type: ignore[list-item]
    "a position that is text": lambda ws: ws.nodes.place("a", "p", "x", 1),  # type: ignore[arg-type]
    "a history limit that is text": lambda ws: ws.runs.history("p", limit="x"),  # type: ignore[arg-type]
    "a history page of no runs": lambda ws: ws.run_history.page("p", limit=0),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_value_of_the_wrong_type_is_refused_in_nodepipe_words_and_changes_nothing(
    lab: nodepipe.Workspace, case: str
) -> None:
    """Each was a raw TypeError ("object of type 'int' has no len()"), AttributeError
    ("'str' object has no attribute 'jobs'") or sqlite3 error from deep inside."""
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b"])
    before = snapshot(lab)
    with pytest.raises(nodepipe.InvalidInputError) as refused:
        WRONG_TYPES[case](lab)
    assert "Error" not in str(refused.value)
    assert snapshot(lab) == before


def test_a_state_given_as_text_is_the_state(lab: nodepipe.Workspace) -> None:
    """``mark(node, "stale")`` failed with "'str' object has no attribute 'value'"."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "a")
    with pytest.raises(nodepipe.ConflictError, match="it never ran") as as_text:
        lab.nodes.mark("a", "stale", pipeline="p")  # type: ignore[arg-type]
    with pytest.raises(nodepipe.ConflictError) as as_state:
        lab.nodes.mark("a", nodepipe.NodeState.STALE, pipeline="p")
    assert str(as_text.value) == str(as_state.value)


CLOSED: dict[str, Call] = {
    "list nodes": lambda ws: ws.nodes.list("p"),
    "make a node": lambda ws: ws.nodes.new("p", "late"),
    "make a pipeline": lambda ws: ws.pipelines.new("late"),
    "connect": lambda ws: ws.edges.connect("a", "b", pipeline="p"),
    "a status": lambda ws: ws.runs.status("p"),
    "a run": lambda ws: ws.runs.run(nodepipe.RunRequest("p")),
    "a backup": lambda ws: ws.backup(),
}


@pytest.mark.parametrize("case", sorted(CLOSED))
def test_a_closed_workspace_refuses_every_call_and_changes_nothing(
    tmp_path: Path, case: str
) -> None:
    """After ``close()`` (or its ``with`` block) the workspace went on reading and writing its
    store behind the back of whoever closed it, opening connections outside the one it keeps."""
    with nodepipe.init(tmp_path / "lab") as ws:
        ws.pipelines.new("p")
        ws.nodes.new_many("p", ["a", "b"])
        nodes = ws.nodes  # held across the close, as a script holds it
        before = snapshot(ws)
    with pytest.raises(nodepipe.WorkspaceError, match="was closed") as refused:
        CLOSED[case](ws)
    assert "open the workspace again" in str(refused.value)
    assert ws.backups() == []  # listed from the folder, which needs no store
    with pytest.raises(nodepipe.WorkspaceError, match="was closed"):
        nodes.list("p")
    ws.close()  # closing again is harmless
    with nodepipe.open(tmp_path / "lab") as again:
        assert snapshot(again) == before


def test_one_workspace_used_from_several_threads_at_once_loses_nothing(
    lab: nodepipe.Workspace,
) -> None:
    """The README says one ``Workspace`` may be used from several threads at once (as the
    web app's request threads use one): each thread's nodes are made, none is lost."""
    lab.pipelines.new("p")
    failures: list[BaseException] = []

    def make(thread: int) -> None:
        try:
            for i in range(5):
                lab.nodes.new("p", f"t{thread}-{i}")
                lab.runs.status("p")
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=make, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    made = {node.tag for node in lab.nodes.list("p")}
    assert made == {f"t{thread}-{i}" for thread in range(4) for i in range(5)}
    assert len(snapshot(lab)["folders"]) == 20


OPENINGS: dict[str, Callable[[Path], object]] = {
    "open a folder given as a number": lambda _: nodepipe.open(123),  # type: ignore[arg-type]
    "init a folder given as a number": lambda _: nodepipe.init(123),  # type: ignore[arg-type]
    "a store URL that is a number": lambda d: nodepipe.init(d / "lab", store_url=5),  # type: ignore[arg-type]
    "a Python version as a number": lambda d: nodepipe.init(d / "lab", python=3.10),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", sorted(OPENINGS))
def test_a_workspace_asked_for_with_a_value_of_the_wrong_type_is_refused_making_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """Each was Python's TypeError from pathlib or a regular expression, naming no argument
    (``python=3.10``, a number, would have asked for Python 3.1)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(nodepipe.InvalidInputError, match="is given as text, like"):
        OPENINGS[case](tmp_path)
    assert list(tmp_path.iterdir()) == []


SURROGATE = "caf\udce9"
"""How Python reads a file name or command line that is not UTF-8: UTF-8 cannot write it."""
FUZZED: dict[str, Call] = {
    "a plan asked for by the pipeline's tag": lambda ws: ws.runs.plan("p"),  # type: ignore[arg-type]
    "a history page before a text": lambda ws: ws.run_history.page("p", before="yesterday"),  # type: ignore[arg-type]
    "a code file named by a number": lambda ws: ws.code_files.read("a", 5, pipeline="p"),  # type: ignore[arg-type]
    "a code file named by a list": lambda ws: ws.code_files.read("a", [""], pipeline="p"),  # type: ignore[arg-type]
    "an output file named by a number": lambda ws: ws.outputs.open("a", 5, pipeline="p"),  # type: ignore[arg-type]
    "code text that is a number": lambda ws: ws.code_files.write(
        "a", "x.py", 5, None, pipeline="p"
    ),  # type: ignore[arg-type]
    "code text UTF-8 cannot hold": lambda ws: ws.code_files.write(
        "a", "x.py", SURROGATE, None, pipeline="p"
    ),
    "a code file renamed to a number": lambda ws: ws.code_files.rename(
        "a", "x.py", 5, "v", pipeline="p"
    ),  # type: ignore[arg-type]
    "a shared env's requirements as a number": lambda ws: ws.shared_envs.new("s", 5),  # type: ignore[arg-type]
    "parameter assignments as a number": lambda ws: ws.nodes.set_params("a", 5, pipeline="p"),  # type: ignore[arg-type]
    "a params.yaml as a number": lambda ws: ws.nodes.set_params("a", replace_with=5, pipeline="p"),  # type: ignore[arg-type]
    "a pipeline's inputs as text": lambda ws: ws.bundles.declare_inputs("p", "x"),  # type: ignore[arg-type]
    "an export's inputs as text": lambda ws: ws.bundles.export("p", "out", inputs="x"),  # type: ignore[arg-type]
    "an export's folder as a number": lambda ws: ws.bundles.export("p", 5),  # type: ignore[arg-type]
    "a bundle's folder as a number": lambda ws: ws.bundles.check(5),  # type: ignore[arg-type]
    "an imported bundle's folder as a number": lambda ws: ws.bundles.import_(5),  # type: ignore[arg-type]
    "an interpreter as a list": lambda ws: ws.isolation.use_interpreter("a", [], pipeline="p"),  # type: ignore[arg-type]
    "a node named in what UTF-8 cannot hold": lambda ws: ws.nodes.get(SURROGATE, pipeline="p"),
    "a run named in what UTF-8 cannot hold": lambda ws: ws.runs.node_runs(SURROGATE),
    "a pipeline tagged in what UTF-8 cannot hold": lambda ws: ws.pipelines.new(SURROGATE),
    "a node tagged in what UTF-8 cannot hold": lambda ws: ws.nodes.new("p", SURROGATE),
    "a pipeline's notes as a dict": lambda ws: ws.pipelines.new("q", notes={}),  # type: ignore[arg-type]
    "a project's notes as None": lambda ws: ws.projects.new("x", notes=None),  # type: ignore[arg-type]
    "a node's notes UTF-8 cannot hold": lambda ws: ws.nodes.notes("a", SURROGATE, pipeline="p"),
    "a backup's destination as a number": lambda ws: ws.backup(5),  # type: ignore[arg-type]
    "a code path as a number": lambda ws: ws.external.code_path_add("a", 5, pipeline="p"),  # type: ignore[arg-type]
    "a code path holding NUL": lambda ws: ws.external.code_path_add("a", "a\x00b", pipeline="p"),
    "a code path longer than a path": lambda ws: ws.external.code_path_add(
        "a", "a" * 5000, pipeline="p"
    ),
    "a code path with a part no file system takes": lambda ws: ws.external.code_path_add(
        "a", "/tmp/" + "a" * 300, pipeline="p"
    ),
    "a package source as a number": lambda ws: ws.packages.read_inputs(5),  # type: ignore[arg-type]
    "a package file name no file system takes": lambda ws: ws.packages.read_inputs(
        "a" * 300 + ".whl"
    ),
    "edges as a number": lambda ws: ws.edges.connect_many("p", 5),  # type: ignore[arg-type]
    "an index URL as a number": lambda ws: ws.envs.add_index("a", 5, "x", pipeline="p"),  # type: ignore[arg-type]
    "a snapshot named by a list": lambda ws: ws.envs.update_snapshot("a", [], pipeline="p"),  # type: ignore[arg-type]
    "a package alias as a number": lambda ws: ws.packages.build("p", alias=5),  # type: ignore[arg-type]
    "a lock kind as a list": lambda ws: ws.run_envs.lock("a", "r", kind=[], pipeline="p"),  # type: ignore[arg-type]
    "a password as a number": lambda ws: ws.servers.set_password(5),  # type: ignore[arg-type]
    "removed conda packages as a number": lambda ws: ws.conda.solver_sources(
        "a",
        removed=5,  # type: ignore[arg-type]
        pipeline="p",
    ),
    "base packages to remove nested in a list": lambda ws: ws.base_envs.remove("p", [["x"]]),  # type: ignore[list-item]
    "fsspec options read from /dev/zero": lambda ws: ws.packages.read_inputs(
        "toypkg", fs_args="/dev/zero"
    ),
    "a backup's destination holding NUL": lambda ws: ws.backup("a\x00b"),
    "a workspace opened at a path holding NUL": lambda ws: nodepipe.open("a\x00b"),
    "an include's inputs as text": lambda ws: ws.bundles.check_include("p", "ns", ""),  # type: ignore[arg-type]
    "conda packages as text": lambda ws: ws.conda.set("a", "numpy", pipeline="p"),  # type: ignore[arg-type]
    "conda packages nested in a list": lambda ws: ws.conda.add("a", [["x"]], pipeline="p"),  # type: ignore[list-item]
    "conda channels as a number": lambda ws: ws.conda.solver_sources("a", channels=5, pipeline="p"),  # type: ignore[arg-type]
    "requirements to check as a number": lambda ws: ws.envs.check_add("a", 5, pipeline="p"),  # type: ignore[arg-type]
    "a package index URL as a number": lambda ws: ws.packages.read_inputs("toypkg", index_url=5),  # type: ignore[arg-type]
    "a workspace at a name no file system takes": lambda ws: nodepipe.open("a" * 300),
    "a backup at a name no file system takes": lambda ws: ws.backup("a" * 300),
    "a workspace in a folder UTF-8 cannot name": lambda ws: nodepipe.init(
        ws.root.parent / SURROGATE
    ),
    "a workspace made in no folder": lambda ws: nodepipe.init(None),  # type: ignore[arg-type]
    "a Python version as a number": lambda ws: ws.envs.check_python("a", 3, pipeline="p"),  # type: ignore[arg-type]
    "conda packages to remove nested in a list": lambda ws: ws.conda.remove(
        "a",
        [["x"]],  # type: ignore[list-item]
        pipeline="p",
    ),
    "a code path to remove holding NUL": lambda ws: ws.external.code_path_remove(
        "a", "a\x00b", pipeline="p"
    ),
    "a bundle's folder no file system takes": lambda ws: ws.bundles.check("a" * 300),
}
"""What ``test_python_api_fuzz`` found: each was a TypeError, AttributeError, ValueError,
OSError, UnicodeEncodeError or sqlite3 error from deep inside (and the last one read
/dev/zero until the machine ran out of memory)."""


@pytest.mark.parametrize("case", sorted(FUZZED))
def test_what_the_fuzzer_found_is_refused_in_nodepipe_words_and_changes_nothing(
    lab: nodepipe.Workspace, case: str
) -> None:
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b"])
    before = snapshot(lab)
    with pytest.raises(nodepipe.InvalidInputError) as refused:
        FUZZED[case](lab)
    assert "Error" not in str(refused.value)
    assert snapshot(lab) == before


def test_a_requirements_file_named_by_text_is_read_as_its_path(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    """``import_requirements(node, "requirements.txt")`` met ``'str' object has no attribute
    'resolve'``: a path given as text, as the CLI's users type it, is a path."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "a")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(nodepipe.InvalidInputError, match="names no package"):
        lab.envs.check_import("a", str(tmp_path / "empty.txt"), pipeline="p")
    (tmp_path / "env.yml").write_text("dependencies: [1, 2\n")
    with pytest.raises(nodepipe.InvalidInputError):
        lab.conda.import_file("a", str(tmp_path / "env.yml"), pipeline="p")
