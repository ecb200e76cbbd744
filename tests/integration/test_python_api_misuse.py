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
