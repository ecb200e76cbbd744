"""The Python API as a new user meets it: what a code-first declaration refuses, what
materialising a changed definition again makes of the pipeline, and arguments of the wrong
shape refused in nodepipe's words with nothing changed."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import snapshot
from nodepipe.domain.runs import RunStatus
from nodepipe.services.graph.definition import PipelineDefinition

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def plain() -> None:
    print("plain")


def takes_input(path: str) -> None:
    print(path)


async def coroutine() -> None:
    print("async")


def uses_names_around_it() -> None:
    print(HERE, Path.cwd())  # its node's main.py has neither


THRESHOLD = 3


def default_from_around(n: int = THRESHOLD) -> None:
    print(n)  # its main.py's def line fails: THRESHOLD is not defined there


def annotated_from_around(folder: Path | None = None) -> None:
    print(folder)


def returns_from_around() -> Path | None:
    print("its body uses no name from around it")
    return None


def builtins_in_its_header(n: int = len("abc"), *rest: str, **named: float) -> None:
    print(n, rest, named)


def generator() -> Iterator[int]:
    yield 1  # calling it makes a generator and runs nothing


async def async_generator() -> AsyncIterator[int]:
    yield 1


def closure() -> Callable[[], None]:
    inside = 1

    def uses_the_enclosing_function() -> None:
        print(inside)

    return uses_the_enclosing_function


DECLARATIONS: dict[str, Callable[[PipelineDefinition], object]] = {
    "a function with an argument": lambda p: p.node()(takes_input),
    "a coroutine": lambda p: p.node()(coroutine),
    "a lambda": lambda p: p.node()(lambda: None),
    "a function using names from its module": lambda p: p.node()(uses_names_around_it),
    "a function using its enclosing function's names": lambda p: p.node()(closure()),
    "a default value from its module": lambda p: p.node()(default_from_around),
    "an argument annotated with a name from its module": lambda p: p.node()(annotated_from_around),
    "a return annotated with a name from its module": lambda p: p.node()(returns_from_around),
    "a generator function": lambda p: p.node()(generator),
    "an async generator function": lambda p: p.node()(async_generator),
    "packages as a list": lambda p: p.node(packages=["toypkg==1.0"])(plain),  # type: ignore[arg-type]
    "conda as a list": lambda p: p.node(conda=["ffmpeg"])(plain),  # type: ignore[arg-type]
    "params YAML cannot write": lambda p: p.node(params={"o": object()})(plain),
    "params that read back otherwise": lambda p: p.node(params={"o": (1, 2)})(plain),
    "params as a list": lambda p: p.node(params=[1])(plain),  # type: ignore[arg-type]
    "a python range that is none": lambda p: p.node(python=">=3.x")(plain),
    "a python request that is none": lambda p: p.node(python="banana")(plain),
    "a parent twice": lambda p: p.node(tag="twice", parents=["first", "first"])(plain),
    "a parent not declared (yet)": lambda p: p.add("second", "", parents=["first", "third"]),
    "itself as its parent": lambda p: p.add("second", "", parents=["second"]),
    "code that is not text": lambda p: p.add("q", plain),  # type: ignore[arg-type]
    "a function typed at a prompt": lambda p: exec("@p.node()\ndef typed(): pass\n", {"p": p}),
}


@pytest.mark.parametrize("case", sorted(DECLARATIONS))
def test_what_cannot_be_a_node_is_refused_when_declared_in_nodepipe_words(case: str) -> None:
    pipe = nodepipe.define("declared")
    pipe.add("first", "print('first')\n")
    with pytest.raises(nodepipe.InvalidInputError) as refused:
        DECLARATIONS[case](pipe)
    assert "Error" not in str(refused.value)  # its words, not a raw exception's
    assert [node.tag for node in pipe.spec.nodes] == ["first"]  # nothing declared


@pytest.mark.parametrize(
    ("function", "named"),
    [
        (default_from_around, "THRESHOLD"),
        (annotated_from_around, "Path"),
        (returns_from_around, "Path"),
    ],
)
def test_names_from_around_a_function_in_its_header_are_named(
    function: Callable[[], None], named: str
) -> None:
    """``def d1(n=THRESH)`` was accepted, and its run failed with a NameError."""
    with pytest.raises(nodepipe.InvalidInputError, match=rf"uses {named} from the code around"):
        nodepipe.define("declared").node()(function)


@pytest.mark.parametrize("function", [generator, async_generator])
def test_a_generator_function_is_refused_saying_its_node_would_do_nothing(
    function: Callable[[], None],
) -> None:
    with pytest.raises(nodepipe.InvalidInputError, match="would run nothing"):
        nodepipe.define("declared").node()(function)


def test_builtins_in_a_function_header_are_accepted() -> None:
    pipe = nodepipe.define("declared")
    pipe.node()(builtins_in_its_header)
    assert "def builtins_in_its_header(n: int = len(" in pipe.spec.nodes[0].code


def test_base_packages_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(nodepipe.InvalidInputError, match="mapping of package name to version"):
        nodepipe.define("declared", base=["numpy"])  # type: ignore[arg-type]


@pytest.mark.parametrize("project", [5, "a/b", ".."])
def test_a_project_that_cannot_be_one_is_refused_when_declared(project: Any) -> None:
    """``define("t", project=5)`` was accepted, and refused only when materialised."""
    with pytest.raises(nodepipe.InvalidInputError, match="invalid project name"):
        nodepipe.define("declared", project=project)


def test_one_parent_may_be_given_as_its_tag() -> None:
    pipe = nodepipe.define("declared")
    pipe.add("first", "print('first')\n")
    pipe.add("second", "print('second')\n", parents="first")
    assert pipe.spec.nodes[1].parents == ("first",)


def test_materialize_refuses_what_is_not_a_definition(lab: nodepipe.Workspace) -> None:
    before = snapshot(lab)
    with pytest.raises(nodepipe.InvalidInputError, match=r"what nodepipe\.define"):
        lab.materialize({"tag": "x"})  # type: ignore[arg-type]
    assert snapshot(lab) == before


def edges(ws: nodepipe.Workspace, pipeline: str) -> list[tuple[str, str, str]]:
    view = ws.pipelines.show(pipeline)
    tags = {item.node.id: item.node.tag for item in view.nodes}
    return sorted((tags[e.parent_id], tags[e.child_id], e.slot) for e in view.edges)


def direct(ws: nodepipe.Workspace, node: str) -> tuple[str, ...]:
    return ws.envs.show(node, pipeline="train").direct


def declare(base: dict[str, str], parents: list[str], **python: Any) -> PipelineDefinition:
    pipe = nodepipe.define("train", base=base)
    pipe.add("a", "print('a')\n", packages={"toypkg": "1.0"}, **python)
    pipe.add("b", "print('b')\n")
    pipe.add("c", "print('c')\n", parents=parents)
    return pipe


def test_materializing_again_makes_the_pipeline_what_the_definition_now_says(
    lab: nodepipe.Workspace, offline_index: Path
) -> None:
    lab.materialize(declare({"otherpkg": "0.1"}, ["a", "b"]))
    assert edges(lab, "train") == [("a", "c", "01"), ("b", "c", "02")]
    assert direct(lab, "c") == ("otherpkg==0.1",)

    lab.materialize(declare({"otherpkg": "0.1"}, ["b", "a"]))  # the parents swapped
    assert edges(lab, "train") == [("a", "c", "02"), ("b", "c", "01")]

    lab.materialize(declare({}, ["a"]))  # b no longer a parent, no base package
    assert edges(lab, "train") == [("a", "c", "01")]
    assert lab.base_envs.show("train") == ()
    assert direct(lab, "a") == ("toypkg==1.0",)
    assert direct(lab, "b") == direct(lab, "c") == ()

    view = lab.materialize(declare({}, ["a"], python=f"cpython@{HERE}"))  # uv's request form
    assert {item.node.tag for item in view.nodes} == {"a", "b", "c"}
    assert lab.envs.show("a", pipeline="train").python_request == f"cpython@{HERE}"


def two_nodes(code: str) -> PipelineDefinition:
    pipe = nodepipe.define("train")
    pipe.add("a", code, params={"k": 2})
    pipe.add("b", "print('b')\n", parents=["a"])
    return pipe


def beside_code(ws: nodepipe.Workspace, node: str) -> dict[str, Any]:
    """What a node's folder holds beside its environment: its main.py, parameters, and the
    names of its entries (``undone-edits/`` and its copies too)."""
    folder = ws.nodes.path(node, pipeline="train")
    return {
        "main": (folder / "code" / "main.py").read_text(),
        "params": ws.nodes.params(node, pipeline="train"),
        "entries": sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/*")),
    }


def test_materialize_never_overwrites_a_node_it_did_not_make(lab: nodepipe.Workspace) -> None:
    """A node built by hand with a declared tag had its code, parameters and packages replaced
    by the definition's. Now the materialise is refused, naming it, and changes nothing;
    ``adopt`` takes it over, its code first copied to its folder's ``undone-edits/``; a node the
    materialise made (or took over) is updated as before; one it does not declare is left."""
    lab.pipelines.new("train")
    lab.nodes.new_many("train", ["a", "mine"])
    (lab.nodes.path("a", pipeline="train") / "code" / "main.py").write_text("print('mine')\n")
    lab.nodes.set_params("a", ["k=1"], pipeline="train")
    before, by_hand = snapshot(lab), beside_code(lab, "a")
    with pytest.raises(nodepipe.ConflictError) as refused:
        lab.materialize(two_nodes("print('a')\n"))
    said = str(refused.value)
    a_id = lab.nodes.find("a", pipeline="train").id
    assert f"pipeline 'train' already has a node tagged 'a' ({a_id}) that no materialize" in said
    assert "would replace its code, parameters and packages, so nothing was changed" in said
    assert "materialize(definition, adopt=['a'])" in said
    assert snapshot(lab) == before and beside_code(lab, "a") == by_hand
    for adopt, wrong in ((["z"], "adopt names 'z', which the definition does not declare"),
                         ("a", "as a list, like ['a']")):  # fmt: skip
        with pytest.raises(nodepipe.InvalidInputError, match=re.escape(wrong)):
            lab.materialize(two_nodes("print('a')\n"), adopt=adopt)
        assert snapshot(lab) == before

    view = lab.materialize(two_nodes("print('a')\n"), adopt=["a"])
    assert sorted(item.node.tag for item in view.nodes) == ["a", "b", "mine"]
    taken = beside_code(lab, "a")
    assert (taken["main"], taken["params"]) == ("print('a')\n", {"k": 2})
    (kept,) = [e for e in taken["entries"] if e.startswith("undone-edits/")]
    folder = lab.nodes.path("a", pipeline="train")
    assert (folder / kept / "main.py").read_text() == "print('mine')\n"
    assert "k: 1" in (folder / kept / "params.yaml").read_text()

    lab.materialize(two_nodes("print('a, again')\n"))  # its own now, and b made by it
    assert beside_code(lab, "a")["main"] == "print('a, again')\n"
    assert lab.nodes.find("a", pipeline="train").id == a_id


def test_materializing_again_keeps_what_was_edited_since_before_replacing_it(
    lab: nodepipe.Workspace,
) -> None:
    """A node a materialise made, edited since (its main.py in an editor, its parameters with
    set_params), had the edits overwritten by the next materialise, kept nowhere. Now they are
    copied to its undone-edits/ first, with a warning naming the node, the files and the copy;
    a definition changed with no edits in between keeps nothing and warns of nothing."""
    lab.materialize(two_nodes("print('a')\n"))
    folder = lab.nodes.path("a", pipeline="train")
    (folder / "code" / "main.py").write_text("print('a')\nprint('my edit')\n")
    lab.nodes.set_params("a", ["k=5"], pipeline="train")

    with pytest.warns(UserWarning, match=r"node 'a' since it was last materialised") as said:
        lab.materialize(two_nodes("print('a')\n"))  # the same definition, run again
    assert beside_code(lab, "a")["main"] == "print('a')\n"
    assert lab.nodes.params("a", pipeline="train") == {"k": 2}
    (kept,) = [e for e in beside_code(lab, "a")["entries"] if e.startswith("undone-edits/")]
    assert (folder / kept / "main.py").read_text() == "print('a')\nprint('my edit')\n"
    assert "k: 5" in (folder / kept / "params.yaml").read_text()
    (warning,) = said.list
    assert "(main.py, params.yaml)" in str(warning.message)
    assert str(folder / kept) in str(warning.message)
    assert warning.filename == __file__  # at the line that called materialize

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing edited since: nothing to keep, no warning
        lab.materialize(two_nodes("print('a, changed in the definition')\n"))
        lab.materialize(two_nodes("print('a, changed in the definition')\n"))
    entries = beside_code(lab, "a")["entries"]
    assert [e for e in entries if e.startswith("undone-edits/")] == [kept]


def test_a_python_that_is_not_installed_is_refused_and_changes_nothing(
    lab: nodepipe.Workspace, offline_index: Path
) -> None:
    before = snapshot(lab)
    pipe = nodepipe.define("train")
    pipe.add("a", "print('a')\n", python="3.99")
    with pytest.raises(nodepipe.RequirementNotFoundError, match=r"no Python 3\.99 is installed"):
        lab.materialize(pipe)
    assert snapshot(lab) == before


def test_connect_many_refuses_links_of_another_shape_and_connects_nothing(
    lab: nodepipe.Workspace,
) -> None:
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b", "c"])
    before = snapshot(lab)
    for links in ([("a", "b"), ("c",)], ["ab"], [("a", "b", 1)], [("a", 2)]):
        with pytest.raises(nodepipe.InvalidInputError, match=r"\(parent, child\)"):
            lab.edges.connect_many("p", links)  # type: ignore[arg-type]
        assert snapshot(lab) == before


TEXT_FOR_A_LIST: dict[str, Callable[[nodepipe.Workspace], object]] = {
    "new_many": lambda ws: ws.nodes.new_many("p", "xyz"),  # type: ignore[arg-type]
    "delete": lambda ws: ws.nodes.delete("c", "p"),  # type: ignore[arg-type]
    "duplicate": lambda ws: ws.node_copies.duplicate("c", pipeline="p"),  # type: ignore[arg-type]
    "reference": lambda ws: ws.node_copies.reference("c", into="q", pipeline="p"),  # type: ignore[arg-type]
    "merge": lambda ws: ws.pipeline_copies.merge("pq", new_tag="m"),  # type: ignore[arg-type]
    "group": lambda ws: ws.groups.new("p", "g", "ab"),  # type: ignore[arg-type]
    "set_params": lambda ws: ws.nodes.set_params("a", "k=1", pipeline="p"),  # type: ignore[arg-type]
    "env add": lambda ws: ws.envs.add("a", "toypkg==1.0", pipeline="p"),  # type: ignore[arg-type]
    "env remove": lambda ws: ws.envs.remove("a", "toypkg", pipeline="p"),  # type: ignore[arg-type]
    "base add": lambda ws: ws.base_envs.add("p", "toypkg"),  # type: ignore[arg-type]
    "run only": lambda ws: ws.runs.run(nodepipe.RunRequest("p", only="ab")),
    "kill": lambda ws: ws.runs.kill("ab", "p"),  # type: ignore[arg-type]
    "package build nodes": lambda ws: ws.packages.build("p", nodes="ab"),
    "conda add": lambda ws: ws.conda.add("a", "x", pipeline="p"),  # type: ignore[arg-type]
    "conda add channels": lambda ws: ws.conda.add("a", ["x"], "conda-forge", pipeline="p"),  # type: ignore[arg-type]
    "conda remove": lambda ws: ws.conda.remove("a", "x", pipeline="p"),  # type: ignore[arg-type]
    "export inputs": lambda ws: ws.bundles.export(
        "p", ws.root.parent / "exported", inputs={"01": "ab"}
    ),
}


@pytest.mark.parametrize("call", sorted(TEXT_FOR_A_LIST))
def test_a_name_given_where_a_list_is_taken_is_refused_not_read_letter_by_letter(
    lab: nodepipe.Workspace, call: str
) -> None:
    """``"xyz"`` made nodes x, y and z; ``"c"`` removed node c; ``"ab"`` ran a and b."""
    for pipeline in ("p", "q"):
        lab.pipelines.new(pipeline)
    lab.nodes.new_many("p", ["a", "b", "c", "x"])
    lab.pipelines.new("pq")  # so that merge("pq") read letter by letter would merge p and q
    before = snapshot(lab)
    with pytest.raises(nodepipe.InvalidInputError, match="as a list, like"):
        TEXT_FOR_A_LIST[call](lab)
    assert snapshot(lab) == before
    assert not (lab.root.parent / "exported").exists()
    assert not (lab.root / "dist").exists()


@pytest.mark.parametrize("jobs", [0, -1, 1025, 2.5, True])
@pytest.mark.parametrize("call", ["import", "include", "update"])
def test_a_bundle_import_of_no_whole_number_of_jobs_is_refused_as_a_run_is(
    lab: nodepipe.Workspace, tmp_path: Path, jobs: object, call: str
) -> None:
    """``jobs=0`` was taken as the default, 2.5 and -1 went on to the sync."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "a")
    lab.bundles.export("p", tmp_path / "bundle")
    lab.pipelines.new("q")
    if call == "update":
        lab.bundles.include("q", str(tmp_path / "bundle"), "ns")
    before = snapshot(lab)
    with pytest.raises(nodepipe.InvalidInputError, match="jobs must be"):
        if call == "import":
            lab.bundles.import_(tmp_path / "bundle", name="copy", jobs=jobs)  # type: ignore[arg-type]
        elif call == "include":
            lab.bundles.include("q", str(tmp_path / "bundle"), "ns", jobs=jobs)  # type: ignore[arg-type]
        else:
            lab.bundles.update("q", "ns", jobs=jobs)  # type: ignore[arg-type]
    assert snapshot(lab) == before


@pytest.mark.parametrize("jobs", [0, -1, 1025, 2.5, True])
def test_a_run_of_no_whole_number_of_jobs_is_refused_as_over_the_web(
    lab: nodepipe.Workspace, jobs: object
) -> None:
    """The web API refused these (422); the Python API and the CLI ran with them."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "a")
    request = nodepipe.RunRequest("p", jobs=jobs)  # type: ignore[arg-type]
    for attempt in (lab.runs.plan, lab.runs.run):
        with pytest.raises(nodepipe.InvalidInputError, match="jobs must be"):
            attempt(request)
    assert lab.runs.history("p") == []


def test_a_run_and_a_status_print_what_they_hold(lab: nodepipe.Workspace) -> None:
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b"])
    lab.edges.connect("a", "b", pipeline="p")
    assert repr(lab.runs.status("p")) == (
        "PipelineStatus(pipeline='p', states={'a': 'ready', 'b': 'ready'})"
    )
    result = lab.runs.run(nodepipe.RunRequest("p", jobs=1))
    assert result.finished is not None
    assert repr(result).startswith(f"RunResult(run_id={result.run_id!r}, planned=['a', 'b'], ")
    nothing = lab.runs.run(nodepipe.RunRequest("p"))
    assert repr(nothing) == "RunResult(run_id=None, planned=[], finished=None)"


def test_a_workspace_prints_where_it_is(lab: nodepipe.Workspace) -> None:
    assert repr(lab) == f"Workspace({str(lab.root)!r})"


def test_a_listener_that_raises_is_warned_about_and_the_run_goes_on(
    lab: nodepipe.Workspace,
) -> None:
    """A bug in a callback marked the node it was told about failed and ended the call with
    the callback's raw error."""
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b"])
    lab.edges.connect("a", "b", pipeline="p")
    seen: list[str] = []

    def broken(event: object) -> None:
        raise ZeroDivisionError("division by zero")

    with pytest.warns(
        RuntimeWarning, match="raised ZeroDivisionError: division by zero on run_started"
    ):
        result = lab.runs.run(
            nodepipe.RunRequest("p"), listeners=[broken, lambda e: seen.append(e.type)]
        )
    assert result.finished is not None and result.finished.completed == 2
    assert seen[0] == "run_started" and seen[-1] == "run_finished"
    states = {node.tag: node.state for node in lab.runs.status("p").nodes.values()}
    assert states == {"a": nodepipe.NodeState.COMPLETED, "b": nodepipe.NodeState.COMPLETED}


def test_materializing_into_another_project_moves_the_pipeline_there(
    lab: nodepipe.Workspace, offline_index: Path
) -> None:
    """The pipeline stayed in its first project, silently, whatever the definition said."""
    lab.projects.new("climate")
    pipe = nodepipe.define("train")
    pipe.add("a", "print('a')\n")
    assert lab.materialize(pipe).project.name == "default"
    pipe = nodepipe.define("train", project="climate")
    pipe.add("a", "print('a')\n")
    assert lab.materialize(pipe).project.name == "climate"
    before = snapshot(lab)
    elsewhere = nodepipe.define("train", project="nowhere")
    elsewhere.add("a", "print('a')\n")
    with pytest.raises(nodepipe.NotFoundError, match="no project 'nowhere'"):
        lab.materialize(elsewhere)
    assert snapshot(lab) == before


def test_an_error_says_what_to_do_as_a_python_call_in_a_note(lab: nodepipe.Workspace) -> None:
    """The CLI named the command and the web app the menu item; a Python user got the bare
    message (``error.hint`` held the action, unworded)."""
    lab.pipelines.new("p")
    node = lab.nodes.new("p", "a")
    opened = nodepipe.open(lab.root)  # nodepipe.open and nodepipe.init word the hints
    opened.nodes.lock("a", pipeline="p")
    with pytest.raises(nodepipe.ReadOnlyError) as refused:
        opened.nodes.set_params("a", ["k=1"], pipeline="p")
    assert str(refused.value) == f"node 'a' ({node.id}) is locked (read-only)"
    assert refused.value.__notes__ == [f"unlock it with ws.nodes.unlock({node.id!r})"]
    refused.value.add_note("a note of the caller's")  # notes stay a list one may add to
    assert len(refused.value.__notes__) == 2
    opened.close()


def test_a_node_got_by_name_has_its_effective_state_as_status_gives_it(
    lab: nodepipe.Workspace,
) -> None:
    """``ws.nodes.get`` said completed while ``status``, ``show`` and ``list`` said stale."""
    lab.pipelines.new("p")
    lab.nodes.new("p", "a")
    lab.runs.run(nodepipe.RunRequest("p"))
    with (lab.nodes.path("a", "p") / "code" / "main.py").open("a") as main:
        main.write("print('changed')\n")
    got = lab.nodes.get("a", "p")
    assert got.state is nodepipe.NodeState.STALE
    assert got.state_reason == "code changed: main.py"
    assert lab.nodes.find("a", "p").id == got.id  # found fast, its state as last recorded


def _runs_and_states(ws: nodepipe.Workspace) -> tuple[list[object], dict[str, object]]:
    states = {node.tag: (node.state, node.state_reason) for node in ws.nodes.list("p")}
    return ws.runs.history("p"), states


@pytest.mark.parametrize(
    "listeners",
    [print, [print, "not callable"], "print", 5],
    ids=["one callable", "a list holding text", "text", "a number"],
)
def test_listeners_not_given_as_a_list_of_callables_are_refused_before_anything_is_claimed(
    lab: nodepipe.Workspace, listeners: object
) -> None:
    """``listeners=print`` raised a raw TypeError once the nodes were claimed: they stayed
    queued, the run running; the next run planned nothing, the next process failed them."""
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b"])
    lab.edges.connect("a", "b", pipeline="p")
    lab.runs.run(nodepipe.RunRequest("p", only=["a"]))
    before = snapshot(lab), _runs_and_states(lab)
    with pytest.raises(nodepipe.InvalidInputError, match="listeners as a list of callables"):
        lab.runs.run(nodepipe.RunRequest("p"), listeners=listeners)  # type: ignore[arg-type]
    assert (snapshot(lab), _runs_and_states(lab)) == before
    result = lab.runs.run(nodepipe.RunRequest("p"))  # the same process runs what is left
    assert result.finished is not None and result.finished.completed == 1


def test_a_failure_after_the_nodes_are_claimed_gives_them_back_and_ends_the_run(
    lab: nodepipe.Workspace,
) -> None:
    """An ``on_start`` that raised left the nodes failed as interrupted (never started)."""
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b"])
    lab.edges.connect("a", "b", pipeline="p")
    lab.runs.run(nodepipe.RunRequest("p", only=["a"]))
    (earlier,), states = _runs_and_states(lab)

    def broken(result: object) -> None:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(ZeroDivisionError):
        lab.runs.run(nodepipe.RunRequest("p", force=True), on_start=broken)
    runs, after = _runs_and_states(lab)
    assert after == states  # a completed, b ready: as before
    assert [run.id for run in runs[1:]] == [earlier.id]
    assert runs[0].status is RunStatus.FAILED
    messages = {nr.message for nr in lab.runs.node_runs(runs[0].id)}
    assert messages == {"nodepipe failed before the run started: division by zero"}
    result = lab.runs.run(nodepipe.RunRequest("p"))
    assert result.finished is not None and result.finished.completed == 1


def _chain_with_a_side_branch(ws: nodepipe.Workspace) -> None:
    """a -> b -> c, b -> e, and d apart; all run."""
    ws.pipelines.new("p")
    ws.nodes.new_many("p", ["a", "b", "c", "d", "e"])
    ws.edges.connect_many("p", [("a", "b"), ("b", "c"), ("b", "e")])
    ws.runs.run(nodepipe.RunRequest("p"))


@pytest.mark.parametrize("by_id", [500, 1], ids=["rows read by id", "rows of the pipeline"])
def test_a_node_got_by_name_is_stale_below_a_stale_parent_and_looks_only_above_itself(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch, by_id: int
) -> None:
    """``get`` computed the statuses of the whole pipeline (2 s on 1,000 nodes) for one node."""
    from nodepipe.services.graph import effective
    from nodepipe.services.runs import status

    monkeypatch.setattr(effective, "_FEW_ROWS", by_id)
    _chain_with_a_side_branch(lab)
    with (lab.nodes.path("a", "p") / "code" / "main.py").open("a") as main:
        main.write("print('changed')\n")
    looked_at: list[str] = []
    check = status._check

    def counted(context: Any, node_id: str, *args: Any) -> Any:
        looked_at.append(node_id)
        return check(context, node_id, *args)

    monkeypatch.setattr(status, "_check", counted)
    ids = {node.tag: node.id for node in lab.nodes.list("p")}
    looked_at.clear()
    got = lab.nodes.get("c", "p")
    assert (got.state, got.state_reason) == (nodepipe.NodeState.STALE, "parent 01 (b) is stale")
    assert sorted(looked_at) == sorted(ids[tag] for tag in "abc")  # not d, not e
    looked_at.clear()
    assert lab.nodes.get("d", "p").state is nodepipe.NodeState.COMPLETED
    assert looked_at == [ids["d"]]
    got = lab.nodes.get("a", "p")
    assert (got.state, got.state_reason) == (nodepipe.NodeState.STALE, "code changed: main.py")
    assert lab.nodes.find("c", "p").state is nodepipe.NodeState.COMPLETED  # as recorded


def test_the_api_names_an_action_as_the_cli_does_and_the_former_names_still_work_and_warn(
    lab: nodepipe.Workspace,
) -> None:
    """``notes``, ``lock``/``unlock`` and ``collapse``/``expand`` as ``node notes``, ``node
    lock``, ``group collapse``; ``annotate``, ``set_locked`` and ``set_collapsed`` do the same,
    warning the caller (the warning points at the caller's line) with the name to use."""
    lab.projects.new("proj")
    lab.pipelines.new("p", project="proj")
    lab.nodes.new("p", "a")
    lab.groups.new("p", "g", ["a"])
    assert lab.nodes.notes("a", "first", pipeline="p").notes == "first"
    assert lab.pipelines.notes("p", "pipe").notes == "pipe"
    assert lab.projects.notes("proj", "proj notes").notes == "proj notes"
    assert lab.nodes.lock("a", pipeline="p").locked
    assert not lab.nodes.unlock("a", pipeline="p").locked
    assert lab.pipelines.lock("p").locked and not lab.pipelines.unlock("p").locked
    assert lab.groups.collapse("p", "g").collapsed
    assert not lab.groups.expand("p", "g").collapsed
    former = {
        "nodes.annotate": lambda: lab.nodes.annotate("a", "second", pipeline="p").notes,
        "nodes.set_locked": lambda: lab.nodes.set_locked("a", True, pipeline="p").locked,
        "pipelines.annotate": lambda: lab.pipelines.annotate("p", "again").notes,
        "pipelines.set_locked": lambda: lab.pipelines.set_locked("p", True).locked,
        "projects.annotate": lambda: lab.projects.annotate("proj", "again").notes,
        "groups.set_collapsed": lambda: lab.groups.set_collapsed("p", "g", True).collapsed,
    }
    for name, call in former.items():
        with pytest.warns(DeprecationWarning, match=rf"^{name} is now ") as warned:
            assert call()
        assert warned[0].filename == __file__, name
    assert lab.nodes.get("a", pipeline="p").locked and lab.pipelines.get("p").locked


def test_nodes_are_deleted_as_pipelines_are_and_the_former_names_still_work_and_warn(
    lab: nodepipe.Workspace,
) -> None:
    """``node rm`` and the web app's **Delete…** were ``ws.nodes.remove`` while ``pipeline rm``
    was ``ws.pipelines.delete``; ``server list`` was ``ws.servers.running``."""
    lab.pipelines.new("p")
    lab.nodes.new_many("p", ["a", "b", "c"])
    assert [loss.tag for loss in lab.nodes.deletion_losses(["a"], "p")] == ["a"]
    assert len(lab.nodes.delete(["a"], "p").deleted) == 1
    assert lab.servers.list() == []
    former = {
        "nodes.removal_losses": lambda: lab.nodes.removal_losses(["b"], "p"),
        "nodes.remove": lambda: lab.nodes.remove(["b"], "p").deleted,
        "servers.running": lambda: lab.servers.running() == [],
    }
    for name, call in former.items():
        with pytest.warns(DeprecationWarning, match=rf"^{name} is now ") as warned:
            assert call()
        assert warned[0].filename == __file__, name
    assert [node.tag for node in lab.nodes.list("p")] == ["c"]
