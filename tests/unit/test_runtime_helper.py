"""The in-node helper ``nodepipe_node``: run as nodepipe launches it, by hand, and broken.

Launch-like tests run a script in a subprocess with ``python -s -S`` (no site-packages, so
neither nodepipe nor PyYAML is importable) and PYTHONPATH holding only the runtime folder.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nodepipe.runtime
from nodepipe.runtime import nodepipe_node as node

RUNTIME_DIR = Path(nodepipe.runtime.__file__).parent
HELPER = RUNTIME_DIR / "nodepipe_node.py"
TEMPLATE = Path(nodepipe.__file__).parent / "workspace" / "templates" / "main.py.template"
NOT_SET = "this code expects to be run by nodepipe (`nodepipe run ...`)"


def make_node(root: Path, node_id: str) -> Path:
    for name in ("code", "data", "reports", "logs"):
        (root / node_id / name).mkdir(parents=True)
    return root / node_id


@pytest.fixture
def launch(tmp_path: Path) -> dict[str, str]:
    """The environment nodepipe gives node ``n1`` (tag train) with inputs 02, 01 and ``extra``."""
    node_dir = make_node(tmp_path, "n1")
    parents = []
    for slot, parent_id, tag in (
        ("02", "p2", "features"),
        ("01", "p1", "clean"),
        ("extra", "p3", "x"),
    ):
        data = make_node(tmp_path, parent_id) / "data"
        (data / f"{tag}.csv").write_text("1\n")
        parents.append({"slot": slot, "id": parent_id, "tag": tag, "data_dir": str(data)})
    context = {"node": {"id": "n1", "tag": "train"}, "params": {"lr": 0.1}, "parents": parents}
    context_file = tmp_path / "run-context.json"
    context_file.write_text(json.dumps(context))
    return {
        "NODEPIPE_NODE_ID": "n1",
        "NODEPIPE_NODE_DIR": str(node_dir),
        "NODEPIPE_DATA_DIR": str(tmp_path / "staging" / "n1"),
        "NODEPIPE_REPORTS_DIR": str(node_dir / "reports"),
        "NODEPIPE_RUN_ID": "r42",
        "NODEPIPE_CONTEXT": str(context_file),
    }


def run(script: str, env: dict[str, str], cwd: Path, site: bool = False) -> Any:
    """Run ``script`` as a node's main.py would run; return what it prints as JSON."""
    (cwd / "main.py").write_text(script, encoding="utf-8")
    flags = ["-s"] if site else ["-s", "-S"]
    completed = subprocess.run(
        [sys.executable, *flags, "main.py"],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(RUNTIME_DIR), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.splitlines()[-1])


PROBE = """
import json, importlib.util
import nodepipe_node as node
(node.data_dir() / "out.txt").write_text("done")
print(json.dumps({
    "id": node.node_id(), "tag": node.tag(), "run": node.run_id(),
    "node_dir": str(node.node_dir()), "data": str(node.data_dir()),
    "reports": str(node.reports_dir()), "params": node.params(),
    "parents": [[p.slot, p.id, p.tag, str(p.data_dir)] for p in node.parents()],
    "by_slot": node.parent("01").tag, "by_tag": node.parent("features").slot,
    "isolated": [importlib.util.find_spec(m) is None for m in ("nodepipe", "yaml")],
}))
"""


def test_a_launched_node_learns_everything_from_its_environment(
    launch: dict[str, str], tmp_path: Path
) -> None:
    code = Path(launch["NODEPIPE_NODE_DIR"]) / "code"
    seen = run(PROBE, launch, code)
    assert seen["isolated"] == [True, True], "the helper must not need nodepipe or PyYAML"
    assert (seen["id"], seen["tag"], seen["run"]) == ("n1", "train", "r42")
    assert seen["node_dir"] == launch["NODEPIPE_NODE_DIR"]
    assert seen["data"] == launch["NODEPIPE_DATA_DIR"]
    assert seen["reports"] == launch["NODEPIPE_REPORTS_DIR"]
    assert seen["params"] == {"lr": 0.1}
    assert [p[:3] for p in seen["parents"]] == [
        ["01", "p1", "clean"],
        ["02", "p2", "features"],
        ["extra", "p3", "x"],
    ]
    assert seen["parents"][0][3] == str(tmp_path / "p1" / "data")
    assert (seen["by_slot"], seen["by_tag"]) == ("clean", "02")
    assert (tmp_path / "staging" / "n1" / "out.txt").read_text() == "done"


def test_the_new_node_template_runs_unchanged(launch: dict[str, str], tmp_path: Path) -> None:
    code = Path(launch["NODEPIPE_NODE_DIR"]) / "code"
    shutil.copy(TEMPLATE, code / "template_main.py")
    script = "import runpy, json\nrunpy.run_path('template_main.py')\nprint(json.dumps(1))\n"
    run(script, launch, code)
    result = tmp_path / "staging" / "n1" / "result.txt"
    assert result.read_text() == "train ran with {'lr': 0.1}\n"


def test_by_hand_without_pyyaml_params_say_what_is_missing(tmp_path: Path) -> None:
    code = make_node(tmp_path, "n7") / "code"
    (code / "params.yaml").write_text("lr: 0.5\n")
    script = """
import json, nodepipe_node as node
try:
    node.params()
except node.NodepipeContextError as exc:
    print(json.dumps([node.node_id(), str(exc)]))
"""
    node_id, message = run(script, {}, code)
    assert node_id == "n7"
    assert NOT_SET in message and "PyYAML must be installed" in message


def test_by_hand_with_pyyaml_params_come_from_params_yaml(tmp_path: Path) -> None:
    code = make_node(tmp_path, "n7") / "code"
    (code / "params.yaml").write_text("lr: 0.5\n")
    script = "import json, nodepipe_node as node\nprint(json.dumps(node.params()))\n"
    assert run(script, {}, code, site=True) == {"lr": 0.5}


def test_by_hand_params_are_what_a_run_gives(tmp_path: Path) -> None:
    """A run gives a node its parameters as JSON (a date as text, a set as a list, bytes as
    hex); by hand, PyYAML's date, set and bytes came back instead, so code that worked by hand
    failed in a run (or the other way round)."""
    from nodepipe.domain.params import parse_params
    from nodepipe.domain.staleness import canonical_json

    code = make_node(tmp_path, "n7") / "code"
    text = (
        "start: 2020-01-31\nat: 2020-01-31T10:00:00Z\nkinds: !!set {b: null, a: null, é: null}\n"
        "blob: !!binary YWI=\nnested: {when: [2021-02-03], n: 1}\n"
    )
    (code / "params.yaml").write_text(text)
    script = "import json, nodepipe_node as node\nprint(json.dumps(node.params()))\n"
    in_a_run = json.loads(canonical_json(parse_params(text)))  # what the run's context holds
    by_hand = run(script, {}, code, site=True)
    assert by_hand == in_a_run
    assert by_hand["start"] == "2020-01-31" and by_hand["kinds"] == ["a", "b", "é"]


@pytest.fixture
def by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process: no NODEPIPE_* variables, working directory in ``n9/code``."""
    for name in list(os.environ):
        if name.startswith("NODEPIPE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(node, "_warned", set())
    monkeypatch.setattr(node, "_loaded", {})
    folder = make_node(tmp_path, "n9")
    monkeypatch.chdir(folder / "code")
    return folder


def test_by_hand_outputs_go_to_data_with_a_warning(by_hand: Path) -> None:
    with pytest.warns(node.NotRunByNodepipeWarning, match="NODEPIPE_DATA_DIR is not set"):
        assert node.data_dir() == by_hand / "data"
    assert node.node_id() == "n9" and node.tag() == "n9" and node.run_id() is None
    assert node.node_dir() == by_hand
    with pytest.warns(node.NotRunByNodepipeWarning, match="reading .*params.yaml"):
        assert node.params() == {}


def test_by_hand_parents_are_unknown(by_hand: Path) -> None:
    with pytest.raises(node.NodepipeContextError, match="parents are only known in a run"):
        node.parents()


def test_outside_any_node_folder_errors_name_the_fix(
    by_hand: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(by_hand.parent)
    main_file = str(by_hand.parent / "x.py")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", main_file, raising=False)
    with pytest.raises(node.NodepipeContextError) as caught:
        node.node_id()
    assert str(caught.value) == f"NODEPIPE_NODE_ID is not set: {NOT_SET}"
    with pytest.raises(node.NodepipeContextError, match="NODEPIPE_CONTEXT is not set"):
        node.context()


def test_a_broken_context_file_is_named(by_hand: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = by_hand / "context.json"
    broken.write_text("{oops")
    monkeypatch.setenv("NODEPIPE_CONTEXT", str(broken))
    with pytest.raises(node.NodepipeContextError, match=r"context\.json is not JSON"):
        node.params()
    monkeypatch.setenv("NODEPIPE_CONTEXT", str(by_hand / "missing.json"))
    with pytest.raises(node.NodepipeContextError, match="cannot read"):
        node.tag()


def test_parent_lookup_errors_list_the_inputs(
    launch: dict[str, str], by_hand: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in launch.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(node.NoSuchInputError) as caught:
        node.parent("03")
    assert str(caught.value) == (
        "this node has no input '03'; its inputs: 01 (clean), 02 (features), extra (x)"
    )
    assert node.parent("p3").slot == "extra"
    params = node.params()
    params["lr"] = 99
    assert node.params() == {"lr": 0.1}, "params() hands out copies"


def test_the_helper_is_python_38_syntax_and_standard_library_only() -> None:
    tree = ast.parse(HELPER.read_text(encoding="utf-8"), feature_version=(3, 8))
    imported = {
        alias.name.split(".")[0]
        for item in ast.walk(tree)
        if isinstance(item, ast.Import | ast.ImportFrom)
        for alias in (
            item.names if isinstance(item, ast.Import) else [ast.alias(item.module or "")]
        )
    }
    assert imported - set(sys.stdlib_module_names) == {"yaml"}, "yaml only as optional fallback"


# What a node process pays for the helper: ``import nodepipe_node`` loads nothing beyond the
# helper itself and ``__future__`` (one tiny module of constants, no imports of its own); ``os``
# and ``sys`` are loaded by every interpreter's start-up. It reads
# bytecode compiled once rather than compiling the source on every launch.
IMPORT_PROBE = """
import sys
import os  # loaded by every start-up with site; -S leaves it out
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
import nodepipe_node
print(sorted(set(sys.modules) - before))
"""


def test_importing_the_helper_loads_no_other_module() -> None:
    for flags in (["-I"], ["-I", "-S"]):
        completed = subprocess.run(
            [sys.executable, *flags, "-c", IMPORT_PROBE, str(RUNTIME_DIR)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        new = ast.literal_eval(completed.stdout.strip())
        assert new == ["__future__", "nodepipe_node"], (
            f"import nodepipe_node also imported {new} ({flags})"
        )


def test_a_launched_node_reads_the_helper_compiled_once() -> None:
    """nodepipe compiles the helper before launching; the node (writing no bytecode) loads it."""
    from nodepipe.execution.task_factory import compiled_runtime_dir

    compiled = Path(importlib.util.cache_from_source(str(HELPER)))
    compiled.unlink(missing_ok=True)
    assert compiled_runtime_dir.__wrapped__() == str(RUNTIME_DIR)
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-B",  # as PYTHONDONTWRITEBYTECODE=1, which -I would ignore
            "-v",
            "-c",
            f"import sys; sys.path.insert(0, {str(RUNTIME_DIR)!r}); import nodepipe_node",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"code object from '{compiled}'" in completed.stderr


def test_a_parent_is_an_immutable_value() -> None:
    one = node.Parent("01", "p1", "clean", Path("/d"))
    assert (
        one
        == node.Parent("01", "p1", "clean", Path("/d"))
        != node.Parent("02", "p1", "c", Path("/d"))
    )
    assert len({one, node.Parent("01", "p1", "clean", Path("/d"))}) == 1
    assert repr(one) == "Parent(slot='01', id='p1', tag='clean', data_dir=PosixPath('/d'))"
    with pytest.raises(AttributeError, match="read-only"):
        one.slot = "02"  # type: ignore[misc]
