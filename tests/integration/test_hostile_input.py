"""Hostile input never takes anything down: YAML bombs, paths out of their folder, options
disguised as requirements. Each is refused with a clear message and changes nothing."""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner, snapshot
from support.hostile_yaml import BOMB, DEEP, inline_billion_laughs, nested


def tree_digest(folder: Path) -> str:
    """One digest of every file name and content below ``folder`` (``.venv`` aside)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if ".venv" in path.relative_to(folder).parts or not path.is_file():
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# YAML ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [(BOMB, "too many YAML aliases"), (DEEP, "nested more than 100 levels")],
    ids=["billion-laughs", "10000-deep"],
)
def test_hostile_parameters_are_refused_and_never_saved(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path, text: str, problem: str
) -> None:
    before = snapshot(chain)
    hostile = tmp_path / "params.yaml"
    hostile.write_text(text)
    result = cli("node", "params", "clean", "--file", str(hostile))
    assert result.code == 2
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert snapshot(chain) == before


def test_a_hostile_value_given_with_set_is_refused(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    before = snapshot(chain)
    bomb = cli("node", "params", "clean", "--set", f"x={inline_billion_laughs()}")
    assert bomb.code == 2 and "too many YAML aliases" in bomb.stderr
    deep = cli("node", "params", "clean", "--set", "x=" + nested(10_000))
    assert deep.code == 2 and "nested more than" in deep.stderr
    assert snapshot(chain) == before


def test_a_bomb_written_by_hand_fails_its_node_only(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    params = chain.nodes.path("clean") / "code" / "params.yaml"
    params.write_text(BOMB)

    status = cli("status", "baseline", "--json")
    assert status.code == 0
    states = {item["tag"]: item for item in status.json()["nodes"]}
    assert states["clean"]["state"] == "failed"
    assert "too many YAML aliases" in states["clean"]["reasons"][0]
    assert states["plot"]["reasons"][-1].startswith("parent 01 (clean) cannot run:")

    shown = cli("node", "show", "clean")
    assert shown.code == 2 and "too many YAML aliases" in shown.stderr

    run = cli("run", "baseline")
    assert run.code == 8
    assert chain.nodes.get("load").state is nodepipe.NodeState.COMPLETED
    assert chain.nodes.get("clean").state is nodepipe.NodeState.FAILED
    assert "too many YAML aliases" in chain.nodes.get("clean").state_reason
    assert chain.nodes.get("plot").state is nodepipe.NodeState.READY

    replacement = params.with_name("fixed.yaml")
    replacement.write_text("threshold: 0.5\n")
    fixed = cli("node", "params", "clean", "--file", str(replacement), "--json")
    assert fixed.code == 0 and fixed.json()["params"] == {"threshold": 0.5}
    assert params.read_text() == "threshold: 0.5\n"
    assert cli("run", "baseline").code == 0


# paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ["..", ".", "../../..", "outside"])
def test_a_snapshot_entry_leading_out_of_snapshots_deletes_nothing(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path, entry: str
) -> None:
    library = tmp_path / "library"
    (library / "mytool").mkdir(parents=True)
    (library / "mytool" / "__init__.py").write_text("ANSWER = 1\n")
    code = chain.nodes.path("clean") / "code"
    (code / "snapshots").mkdir()
    if entry == "outside":  # a link planted where a snapshot should be
        elsewhere = tmp_path / "precious"
        elsewhere.mkdir()
        (elsewhere / "keep.txt").write_text("keep me")
        (code / "snapshots" / "outside").symlink_to(elsewhere)
    pyproject = code / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + f'\n[tool.nodepipe.snapshots]\n"{entry}" = "{library}"\n'
    )
    before = tree_digest(chain.context.layout.root)

    result = cli("env", "update-snapshot", "clean", entry)

    assert result.code == 2
    assert "[tool.nodepipe.snapshots]" in result.stderr and "Traceback" not in result.stderr
    assert tree_digest(chain.context.layout.root) == before
    if entry == "outside":
        assert (tmp_path / "precious" / "keep.txt").read_text() == "keep me"


def test_an_entry_point_outside_code_is_refused(chain: nodepipe.Workspace, cli: CliRunner) -> None:
    pyproject = chain.nodes.path("clean") / "code" / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('entry = "main.py"', 'entry = "/bin/true"'))
    status = cli("status", "baseline", "--json")
    assert status.code == 0
    clean = next(item for item in status.json()["nodes"] if item["tag"] == "clean")
    assert clean["state"] == "failed"
    assert "entry must be a file inside code/" in clean["reasons"][0]


# names --------------------------------------------------------------------------------------
DOT_NAMED = [
    ("node", "new", "baseline", "--tag", "."),
    ("node", "rename", "load", "."),
    ("pipeline", "new", "."),
    ("pipeline", "rename", "baseline", "."),
    ("project", "new", "."),
    ("group", "new", "baseline", ".", "load"),
    ("shared-env", "new", "."),
]


@pytest.mark.parametrize("command", DOT_NAMED, ids=lambda words: " ".join(words[:2]))
def test_a_dot_is_no_name(chain: nodepipe.Workspace, cli: CliRunner, command: tuple[str]) -> None:
    """A node tagged '.' was exported into the bundle's nodes/ folder itself (which its import
    then refused), and a shared environment '.' was "already there" yet not found."""
    before = snapshot(chain), tree_digest(chain.context.layout.root)
    result = cli(*command)
    assert result.code == 2, result.stderr
    assert "'.': it is '.', which paths read as the folder it is in" in result.stderr
    assert (snapshot(chain), tree_digest(chain.context.layout.root)) == before


# requirements -------------------------------------------------------------------------------
OPTIONS = ["-e", "--index-url=http://127.0.0.1:9/simple", "-rrequirements.txt"]


@pytest.mark.parametrize("option", OPTIONS)
def test_options_disguised_as_requirements_are_refused_everywhere(
    chain: nodepipe.Workspace, cli: CliRunner, option: str
) -> None:
    before = snapshot(chain), tree_digest(chain.context.layout.root)
    attempts = [
        ("env", "add", "clean", "--", option),
        ("env", "add", "clean", "--", "toypkg", option),
        ("env", "remove", "clean", "--", option),
        ("pipeline", "base-env", "baseline", "add", "--", option),
        ("pipeline", "base-env", "baseline", "remove", "--", option),
        ("shared-env", "new", "tools", "--", option),
    ]
    for args in attempts:
        result = cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert repr(option) in result.stderr and "Traceback" not in result.stderr, args
    with pytest.raises(nodepipe.InvalidInputError, match="invalid requirement"):
        chain.envs.replace_requirements("clean", ["toypkg", option])
    assert (snapshot(chain), tree_digest(chain.context.layout.root)) == before


def test_code_first_packages_are_checked_before_anything_is_made(
    lab: nodepipe.Workspace,
) -> None:
    pipe = nodepipe.define("first")
    before = snapshot(lab)
    with pytest.raises(nodepipe.InvalidInputError, match="invalid requirement '--index-url"):
        pipe.add("train", "print(1)\n", packages={"--index-url=http://127.0.0.1:9/simple": ""})
    spec = nodepipe.PipelineSpec(  # a spec made by hand is checked by materialize
        "first", None, {}, (nodepipe.NodeSpec("train", "print(1)\n", (), {"-e": "."}),)
    )
    with pytest.raises(nodepipe.InvalidInputError, match="invalid requirement '-e"):
        lab.materialize(spec)
    assert snapshot(lab) == before


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"kinds": {"a", "b"}}, "kinds is a set"),
        ({"blob": {"parts": [b"ab"]}}, "blob.parts[0] is a bytes"),
        ({"start": datetime.date(2020, 1, 31)}, "start is a date"),
    ],
)
def test_code_first_params_a_node_would_read_otherwise_are_refused(
    lab: nodepipe.Workspace, params: dict[str, object], said: str
) -> None:
    """A set, bytes or a date in `params=` was taken: YAML wrote and read it back alike, but
    the node (whose context is JSON) got a list, hex text or text."""
    pipe = nodepipe.define("first")
    with pytest.raises(nodepipe.InvalidInputError, match=re.escape(said)):
        pipe.add("train", "print(1)\n", params=params)


def test_a_code_first_node_declared_twice_is_refused_where_it_is_declared() -> None:
    """Refused at the second declaration (the line at fault), not later at materialize."""
    pipe = nodepipe.define("first")
    pipe.add("train", "print(1)\n")
    with pytest.raises(nodepipe.InvalidInputError, match="node 'train' is declared twice"):
        pipe.add("train", "print(2)\n")
    assert [node.code for node in pipe.spec.nodes] == ["print(1)\n"]


# tracebacks ---------------------------------------------------------------------------------
def test_env_show_on_a_broken_pyproject_is_an_error_not_a_traceback(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    code = chain.nodes.path("clean") / "code"
    (code / "pyproject.toml").write_text("[project\nname = 'x'\n")
    result = cli("env", "show", "clean")
    assert result.code == 2
    assert f"cannot read {code / 'pyproject.toml'}" in result.stderr
    assert "Traceback" not in result.stderr
    (code / "pyproject.toml").unlink()
    missing = cli("env", "show", "clean")
    assert missing.code == 2 and "No such file" in missing.stderr


# Special files --------------------------------------------------------------------------------
def test_a_fifo_in_a_nodes_code_is_left_out_of_its_copies(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """A FIFO is no code (a fingerprint never counts one) and cannot be copied: duplicating a
    node holding one failed with shutil's raw list of errors (exit 9)."""
    code = chain.nodes.path("clean") / "code"
    os.mkfifo(code / "events")
    (chain.nodes.path("clean") / "data").mkdir(exist_ok=True)
    os.mkfifo(chain.nodes.path("clean") / "data" / "feed")  # no output either
    args = ("node", "duplicate", "clean", "-p", "baseline", "--tag", "clean-v2", "--with-data")
    made = cli(*args)
    assert made.code == 0, made.stderr
    copy = chain.nodes.path("clean-v2")
    assert (copy / "code" / "main.py").is_file() and not (copy / "code" / "events").exists()
    assert not (copy / "data" / "feed").exists()


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("[]", "is not a conda package spec"),
        (" [ ", "is not a conda package spec"),
        ("[url=/tmp/x.conda]", "which is no conda package file"),
    ],
)
def test_a_conda_spec_of_brackets_alone_is_refused_by_the_cli_too(
    chain: nodepipe.Workspace, cli: CliRunner, spec: str, said: str
) -> None:
    """`nodepipe env conda add clean "[]"` ended in a traceback (IndexError) before the spec
    was looked at; the web API already refused it."""
    before = snapshot(chain)
    added = cli("env", "conda", "add", "clean", spec)
    assert added.code == 2, added.stderr
    assert said in added.stderr
    assert snapshot(chain) == before
