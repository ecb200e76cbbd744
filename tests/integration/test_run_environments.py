"""Every node run records what it ran with: its lock text, interpreter, platform and code,
stored once per content in the workspace however many runs share it (real uv, offline)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import nodepipe
from integration.conftest import CliRunner
from nodepipe.domain.errors import InvalidInputError, NotFoundError
from nodepipe.services.runs.service import RunRequest
from nodepipe.store.schema import node_run_environments
from nodepipe.workspace.objects import ObjectStore

FAILING = "raise SystemExit(3)\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_id(ws: nodepipe.Workspace, force: bool = False) -> str:
    result = ws.runs.run(RunRequest("baseline", force=force))
    assert result.run_id is not None
    return result.run_id


def stored_contents(ws: nodepipe.Workspace) -> list[Path]:
    return sorted(p for p in ws.context.layout.objects_dir.rglob("*") if p.is_file())


def test_a_run_records_the_lock_text_interpreter_platform_code_and_params(
    chain: nodepipe.Workspace, offline_index: Path
) -> None:
    chain.envs.add("clean", ["toypkg==1.0"])
    chain.nodes.set_params("clean", ["threshold=0.5"])
    code = chain.nodes.path("clean") / "code"
    (code / "helpers.py").write_text("X = 1\n")
    run = run_id(chain)
    past = chain.run_envs.show("clean", run)
    assert past.locks == {"uv": sha256(code / "uv.lock")}
    assert past.packages == {"toypkg": "1.0"}
    assert past.params == {"threshold": 0.5}
    version = subprocess.run(
        [
            str(code / ".venv" / "bin" / "python"),
            "-c",
            "import platform; print(platform.python_version())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert past.python == version
    assert past.interpreter == os.path.realpath(code / ".venv" / "bin" / "python")
    assert Path(past.interpreter).name.startswith("python") and "/.venv/" not in past.interpreter
    assert past.platform.startswith("linux-")
    assert past.files["helpers.py"] == sha256(code / "helpers.py")
    assert set(past.files) >= {"main.py", "pyproject.toml", "uv.lock", "params.yaml"}
    objects = ObjectStore(chain.context.layout.objects_dir)
    assert objects.read(past.locks["uv"]) == (code / "uv.lock").read_bytes()  # the exact text


def test_runs_with_the_same_code_and_lock_store_one_copy(chain: nodepipe.Workspace) -> None:
    first = run_id(chain)
    kept = stored_contents(chain)
    second = run_id(chain, force=True)
    assert stored_contents(chain) == kept, "a second run stored its contents again"
    # three nodes with the same skeleton share every content but their main.py
    locks = {
        chain.run_envs.show(tag, run).locks["uv"]
        for tag in ("load", "clean", "plot")
        for run in (first, second)
    }
    assert len(locks) == 1
    (chain.nodes.path("plot") / "code" / "main.py").write_text("print('changed')\n")
    third = run_id(chain)
    assert len(stored_contents(chain)) == len(kept) + 2  # the new main.py and its manifest
    assert chain.run_envs.show("plot", third).code != chain.run_envs.show("plot", first).code


def test_runs_node_shows_it_and_its_json_is_the_record(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    chain.envs.add("clean", ["toypkg==1.0"])
    run = run_id(chain)
    code = chain.nodes.path("clean") / "code"
    lock = sha256(code / "uv.lock")
    interpreter = os.path.realpath(code / ".venv" / "bin" / "python")
    shown = cli("runs", "--run", run, "--node", "clean")
    assert shown.code == 0, shown.stderr
    assert lock in shown.stdout and "toypkg" in shown.stdout and "platform" in shown.stdout
    assert interpreter in shown.stdout.replace("\n", "")
    data = cli("runs", "--run", run[:5], "--node", "clean", "--json").json()
    assert data["locks"] == {"uv": lock} and data["packages"] == {"toypkg": "1.0"}
    assert data["run_id"] == run and data["tag"] == "clean"
    assert data["interpreter"] == interpreter and data["conda_packages"] == []
    refused = cli("runs", "--node", "clean")
    assert refused.code != 0 and "--run" in refused.stderr


def test_runs_node_lock_prints_the_stored_lock_text_as_that_run_had_it(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    chain.envs.add("clean", ["toypkg==1.0"])
    code = chain.nodes.path("clean") / "code"
    then = (code / "uv.lock").read_bytes()
    run = run_id(chain)
    chain.envs.add("clean", ["otherpkg==0.1"])  # the lock moves on; the run's stays
    assert (code / "uv.lock").read_bytes() != then
    printed = cli("runs", "--run", run, "--node", "clean", "--lock")
    assert printed.code == 0, printed.stderr
    assert printed.stdout.encode() == then, "not the exact text the run had"
    assert printed.stdout == cli("runs", "--run", run, "--node", "clean", "--lock", "uv").stdout
    data = cli("runs", "--run", run, "--node", "clean", "--lock", "--json").json()
    assert data["text"].encode() == then and data["sha256"] == hashlib.sha256(then).hexdigest()
    assert (data["kind"], data["file"], data["tag"]) == ("uv", "uv.lock", "clean")
    no_conda = cli("runs", "--run", run, "--node", "clean", "--lock", "conda")
    assert no_conda.code == 2 and "ran with no conda.lock" in no_conda.stderr
    unknown = cli("runs", "--run", run, "--node", "clean", "--lock", "pip")
    assert unknown.code == 2
    alone = cli("runs", "--run", run, "--lock")
    assert alone.code == 2 and "--node" in alone.stderr


def test_the_run_fixes_the_pipeline_of_a_tag_shown_in_others_too(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    run = run_id(chain)
    chain.pipelines.new("other")
    chain.nodes.new("other", "clean")  # the same tag in another pipeline
    elsewhere = cli("node", "show", "clean")
    assert elsewhere.code == 3 and "ambiguous" in elsewhere.stderr  # outside a run it is
    shown = cli("runs", "--run", run, "--node", "clean", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["node_id"] == chain.nodes.get("clean", "baseline").id
    assert cli("runs", "--run", run, "--node", "clean", "--lock").code == 0
    chain.pipelines.new("third")
    chain.nodes.new("third", "only-here")
    not_in_it = cli("runs", "--run", run, "--node", "only-here")
    assert not_in_it.code == 3 and "'only-here' took no part in run" in not_in_it.stderr
    chain.nodes.new("third", "twice")
    chain.nodes.new("other", "twice")
    twice = cli("runs", "--run", run, "--node", "twice")
    assert twice.code == 3 and "no node 'twice' took part in run" in twice.stderr


def test_a_run_without_a_stored_environment_is_a_clear_error(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    (chain.nodes.path("clean") / "code" / "main.py").write_text(FAILING)
    run = run_id(chain)
    with pytest.raises(
        InvalidInputError,
        match=r"'plot' did not start in run \w+ \(skipped: upstream clean failed\)",
    ):
        chain.run_envs.show("plot", run)  # skipped: its parent failed
    chain.nodes.new("baseline", "later")
    with pytest.raises(NotFoundError, match="'later' took no part in run"):
        chain.run_envs.show("later", run)
    with pytest.raises(NotFoundError, match="no run"):
        chain.run_envs.show("load", "zzzzzzzz")
    with chain.context.store.engine.begin() as connection:  # as an older nodepipe recorded it
        connection.execute(sa.delete(node_run_environments))
    with pytest.raises(InvalidInputError, match="recorded before nodepipe kept environments"):
        chain.run_envs.show("load", run)
    refused = cli("runs", "--run", run, "--node", "load")
    assert refused.code == 2 and "no stored environment" in refused.stderr
    refused = cli("runs", "--run", run, "--node", "load", "--lock", "--json")
    assert refused.code == 2 and "no stored environment" in refused.stderr


def test_a_node_on_an_existing_interpreter_records_that_interpreter_and_no_packages(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """audit2 F3: not uv's default Python, nor a lock nothing installed there."""
    system = "/usr/bin/python3"
    version = subprocess.run(
        [system, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    own = cli("env", "show", "clean", "--json").json()["python"]
    assert version != own, "the test needs an interpreter other than the node's own"
    chain.envs.add("clean", ["toypkg==1.0"])
    assert cli("env", "interpreter", "clean", system).code == 0
    assert cli("env", "show", "clean", "--json").json()["python"] == version
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    run = result.run_id or ""
    past = cli("runs", "--run", run, "--node", "clean", "--json").json()
    assert past["python"] == version
    assert past["interpreter"] == os.path.realpath(system)
    assert past["packages"] == {} and "uv" not in past["locks"]
    shown = " ".join(cli("runs", "--run", run, "--node", "clean").stdout.split())
    assert f"not isolated: it ran with {os.path.realpath(system)} (Python {version})" in shown


def test_restoring_or_copying_a_node_on_an_interpreter_makes_it_no_environment(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    """README: a node run with an existing interpreter "has no environment of its own", and
    `env restore` of its run gives it back its pyproject and lock. That restore (which puts it
    back on the interpreter), `node restore` and `node duplicate` of it each built a `.venv`
    that nothing uses beside the interpreter it runs with."""
    chain.envs.add("clean", ["toypkg==1.0"])
    assert cli("env", "interpreter", "clean", sys.executable).code == 0
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    run = result.run_id or ""
    assert cli("env", "detach", "clean").code == 0  # an environment of its own again
    code = chain.nodes.path("clean") / "code"
    assert (code / ".venv").is_dir()

    restored = cli("env", "restore", "clean", "--run", run, "--json")
    assert restored.code == 0, restored.stderr
    assert restored.json()["isolation"] == f"interpreter:{Path(sys.executable).absolute()}"
    assert not (code / ".venv").exists()
    made = cli("node", "restore", "clean", "--run", run, "--as", "clean-then")
    assert made.code == 0, made.stderr
    assert not (chain.nodes.path("clean-then") / "code" / ".venv").exists()
    copied = cli("node", "duplicate", "clean", "-p", "baseline", "--tag", "clean-copy")
    assert copied.code == 0, copied.stderr
    assert not (chain.nodes.path("clean-copy") / "code" / ".venv").exists()
    assert cli("node", "show", "clean-copy").stdout.count("not isolated") == 1
    again = chain.runs.run(RunRequest("baseline", only=["clean", "clean-then", "clean-copy"]))
    assert again.finished is not None and again.finished.failed == 0
    assert again.finished.completed == 2  # clean is as that run had it: up to date
