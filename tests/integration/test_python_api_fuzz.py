"""Hostile calls on every method of the Python API: nodepipe's own error or an answer, and a
refusal leaves the workspace as it was.

The methods are walked from ``nodepipe.Workspace`` (each service ``ws.nodes``, ``ws.envs``… and
the workspace's own methods), so a new method is fuzzed without a line here; only the former
names (they warn, and pytest makes the warning an error) and ``NOT_FUZZED`` are left out. For
each, hypothesis draws arguments from the parameters' names and annotations: the names that
exist in the ``chain`` workspace (load → clean → plot in pipeline ``baseline``), hostile strings
(``support.refusal_fuzz``: ``..``, ``/``, NUL, 5,000 characters, a lone surrogate as a file
name that is not UTF-8 gives Python), values of the wrong type (numbers, ``None``, bytes, a
list where a name is taken and a name where a list is, a dict, lists nested 500 deep), numbers
out of any range, and paths inside and outside the workspace. Each call is checked:

- nothing but a ``nodepipe.NodepipeError`` leaves it (a ``TypeError`` from deep inside tells a
  user nothing about what they passed);
- a refusal changed nothing: every row of the store and every file of the workspace (path,
  size, modification time; environments and caches left out) are as before;
- one call ends within ``CALL_SECONDS``.

A call that succeeds may change the workspace (that is its job): the next example starts from
what it left. uv is offline against tiny wheels and Jupyter kernels go under the test's folder.

More examples on demand::

    NODEPIPE_API_FUZZ_EXAMPLES=50 HYPOTHESIS_PROFILE=long \\
        .venv/bin/python -m pytest tests/integration/test_python_api_fuzz.py
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nodepipe
from support.refusal_fuzz import (
    HUGE_NUMBERS,
    differences,
    fuzz_settings,
    hostile_paths,
    hostile_text,
    snapshot,
)
from support.wheels import toy_index
from support.worlds import CHAIN, build_pipeline

EXAMPLES = int(os.environ.get("NODEPIPE_API_FUZZ_EXAMPLES", "8"))
CALL_SECONDS = 120
NOT_FUZZED: dict[str, str] = {
    "close": "a closed workspace refuses every later call by design",
    "packages.publish": "it uploads to a package index over the network",
    "packages.pull_upload": "the web API's upload: it takes the request's open stream",
    "packages.pull_staged": "the web API's upload: it takes what pull_upload staged",
    "run_envs.project_files": "it takes a CodeManifest, which only a run's record makes",
}
"""Methods left out, and why."""
SEEDED = {
    "node": ["load", "clean", "plot"],
    "pipeline": ["baseline"],
    "project": ["climate", "default"],
}
NODE_WORDS = {"name", "node", "nodes", "names", "parent", "child", "old", "new", "from_node"}
NODE_WORDS |= {"members", "tags", "tag", "library", "to", "only", "from_"}
PIPELINE_WORDS = {"pipeline", "into", "new_tag"}


def public_methods() -> dict[str, tuple[str | None, str]]:
    """``"nodes.new"`` → (the service's attribute, the method's name), for every public
    method of a ``Workspace`` but the former names (each says "The former name of")."""
    unopened = nodepipe.Workspace(None)  # type: ignore[arg-type]  # services only kept
    owners: list[tuple[str | None, type]] = [(None, nodepipe.Workspace)]
    owners += [
        (attribute, type(getattr(unopened, attribute)))
        for attribute, value in vars(nodepipe.Workspace).items()
        if isinstance(value, functools.cached_property)
    ]
    found: dict[str, tuple[str | None, str]] = {}
    for attribute, owner in owners:
        for name, member in inspect.getmembers(owner):
            if name.startswith("_") or not callable(member) or inspect.isclass(member):
                continue
            if (inspect.getdoc(member) or "").startswith("The former name of"):
                continue
            key = f"{attribute}.{name}" if attribute else name
            if key not in NOT_FUZZED:
                found[key] = (attribute, name)
    return found


METHODS = public_methods()


def nested(depth: int) -> object:
    value: object = "load"
    for _ in range(depth):
        value = [value]
    return value


def anything(root: Path) -> st.SearchStrategy[Any]:
    """A value of any wrong type, or a hostile string or path."""
    return st.one_of(
        hostile_text(),
        st.just("caf\udce9"),  # a file name that is not UTF-8, as Python reads it
        st.sampled_from(HUGE_NUMBERS),
        st.integers(),
        st.sampled_from([None, True, b"load", b"\xff", object(), nested(500), {"a": {"b": []}}]),
        st.lists(hostile_text(), max_size=3),
        st.dictionaries(hostile_text(), hostile_text(), max_size=2),
        hostile_paths(root),
        hostile_paths(root).map(Path),
    )


def seeded(parameter: str) -> list[str]:
    if parameter in PIPELINE_WORDS:
        return SEEDED["pipeline"]
    if parameter == "project":
        return SEEDED["project"]
    if parameter in NODE_WORDS:
        return SEEDED["node"]
    return [*SEEDED["node"], *SEEDED["pipeline"]]


def value_of(parameter: inspect.Parameter, root: Path) -> st.SearchStrategy[Any]:
    """A value fit for ``parameter``'s name and annotation, or anything at all."""
    annotation = str(parameter.annotation)
    names = st.sampled_from(seeded(parameter.name))
    fitting: st.SearchStrategy[Any]
    if annotation.startswith("bool"):
        fitting = st.booleans()
    elif annotation.startswith(("int", "float")):
        fitting = st.integers(-3, 3)
    elif "RunRequest" in annotation:
        fitting = st.builds(
            nodepipe.RunRequest,
            pipeline=names | hostile_text(),
            only=st.none() | st.lists(names | hostile_text(), max_size=2),
            force=st.booleans(),
            jobs=st.none() | st.integers(-2, 2) | st.sampled_from(HUGE_NUMBERS),
        )
    elif "NodeState" in annotation:
        fitting = st.sampled_from(list(nodepipe.NodeState))
    elif annotation.startswith(("list", "builtins.list", "Sequence", "Iterable", "Collection")):
        fitting = st.lists(names | hostile_text(), min_size=1, max_size=3)
    elif annotation.startswith(("Mapping", "dict")):
        fitting = st.dictionaries(names | hostile_text(), names | hostile_text(), max_size=2)
    elif "Path" in annotation:
        fitting = hostile_paths(root) | hostile_paths(root).map(Path)
    else:
        fitting = names
    return fitting | anything(root)


def arguments(
    data: st.DataObject, method: Callable[..., object], root: Path
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for ``method``; optional ones only sometimes."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(method).parameters.values():
        optional = parameter.default is not inspect.Parameter.empty
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if optional and not data.draw(st.booleans()):
            continue
        value = data.draw(value_of(parameter, root))
        if parameter.kind is parameter.KEYWORD_ONLY or optional:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    return args, kwargs


class OverranError(Exception):
    """A call ran longer than ``CALL_SECONDS``."""


def _overran(signum: int, frame: FrameType | None) -> None:
    raise OverranError


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain workspace, built once (real uv environments); each method gets a copy."""
    root = tmp_path_factory.mktemp("api-fuzz-template") / "lab"
    with nodepipe.init(root) as ws:
        build_pipeline(ws, "baseline", CHAIN, project="climate")
    return root


@pytest.fixture
def lab(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[nodepipe.Workspace]:
    """A copy of the template, open; uv offline against tiny wheels; kernels and the current
    folder under the test."""
    monkeypatch.setenv("UV_FIND_LINKS", str(toy_index(tmp_path / "wheels")))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("NODEPIPE_FORK_SERVER", "0")
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "file.txt").write_text("not a workspace's\n")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    with nodepipe.open(root) as ws:
        yield ws


def bound(ws: nodepipe.Workspace, attribute: str | None, name: str) -> Callable[..., object]:
    owner: object = ws if attribute is None else getattr(ws, attribute)
    method: Callable[..., object] = getattr(owner, name)
    return method


@pytest.mark.parametrize("method", sorted(METHODS))
def test_hostile_calls_are_refused_in_nodepipe_words_and_change_nothing(
    lab: nodepipe.Workspace, method: str
) -> None:
    attribute, name = METHODS[method]
    root = lab.root

    @fuzz_settings(EXAMPLES)
    @given(st.data())
    def hostile(data: st.DataObject) -> None:
        call = bound(lab, attribute, name)
        args, kwargs = arguments(data, call, root)
        shown = f"{method}(*{args!r:.300}, **{kwargs!r:.300})"
        before = snapshot(root)
        previous = signal.signal(signal.SIGALRM, _overran)
        signal.alarm(CALL_SECONDS)
        try:
            answer = call(*args, **kwargs)
        except OverranError:
            pytest.fail(f"{shown}: still running after {CALL_SECONDS} s")
        except nodepipe.NodepipeError as refusal:
            changed = differences(before, snapshot(root))
            assert not changed, (shown, str(refusal)[:400], changed[:10])
        except Exception as failure:
            pytest.fail(f"{shown}: not a nodepipe error: {failure!r:.600}")
        else:
            if isinstance(answer, nodepipe.Workspace) and answer is not lab:
                answer.close()  # open / init of another folder
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    hostile()


def test_the_walk_finds_every_service_and_each_method_left_out_exists() -> None:
    """A renamed method left in ``NOT_FUZZED`` would be fuzzed under its new name unnoticed;
    a service the walk missed would not be fuzzed at all."""
    unopened = nodepipe.Workspace(None)  # type: ignore[arg-type]
    for key in NOT_FUZZED:
        *attribute, name = key.split(".")
        owner = getattr(unopened, attribute[0]) if attribute else nodepipe.Workspace
        assert callable(getattr(owner, name, None)), f"NOT_FUZZED names {key}, which is gone"
    services = {key.split(".")[0] for key in METHODS if "." in key}
    assert {"nodes", "pipelines", "edges", "envs", "bundles", "packages"} <= services
    assert {"init", "open", "backup", "materialize"} <= set(METHODS)
