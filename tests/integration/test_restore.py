"""Rebuilding the past: `env restore` puts a node's environment back as a run had it, and
`node restore` makes a new node of a run's code, parameters and environment (real uv, offline,
tiny local wheels)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

import nodepipe
from integration.conftest import CliRunner, snapshot
from nodepipe.domain.errors import ConflictError, InvalidInputError, NotFoundError, ReadOnlyError
from nodepipe.services.runs.service import RunRequest
from nodepipe.store.schema import node_run_environments
from nodepipe.workspace.objects import ObjectStore

WRITES_VERSION = """\
import toypkg, nodepipe_node as node
(node.data_dir() / "out.txt").write_text(f"v1 {toypkg.VERSION} {node.params()['n']} "
    + (node.parent("01").data_dir / "seed.txt").read_text())
"""
WRITES_SEED = """\
import nodepipe_node as node
(node.data_dir() / "seed.txt").write_text("seed")
"""


@pytest.fixture
def two_runs(chain: nodepipe.Workspace, offline_index: Path) -> tuple[str, str]:
    """clean (toypkg 1.0, n=1) ran, then got otherpkg, new code and n=2 and ran again."""
    (chain.nodes.path("load") / "code" / "main.py").write_text(WRITES_SEED)
    (chain.nodes.path("clean") / "code" / "main.py").write_text(WRITES_VERSION)
    chain.envs.add("clean", ["toypkg==1.0"])
    chain.nodes.set_params("clean", ["n=1"])
    first = chain.runs.run(RunRequest("baseline", to=["clean"]))
    chain.envs.add("clean", ["otherpkg==0.1"])
    code = chain.nodes.path("clean") / "code"
    (code / "main.py").write_text(WRITES_VERSION.replace("v1", "v2"))
    chain.nodes.set_params("clean", ["n=2"])
    second = chain.runs.run(RunRequest("baseline", to=["clean"]))
    for result in (first, second):
        assert result.run_id is not None and result.finished is not None
        assert result.finished.failed == 0
    return first.run_id, second.run_id  # type: ignore[return-value]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def imports(python: Path, module: str) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], check=False).returncode == 0


def project_state(ws: nodepipe.Workspace, tag: str) -> dict[str, bytes]:
    code = ws.nodes.path(tag) / "code"
    names = ("pyproject.toml", "uv.lock", ".venv/.nodepipe-synced")
    return {name: (code / name).read_bytes() for name in names}


def test_env_restore_gives_back_the_first_runs_environment(
    chain: nodepipe.Workspace, two_runs: tuple[str, str], offline_index: Path, cli: CliRunner
) -> None:
    first, _ = two_runs
    code = chain.nodes.path("clean") / "code"
    assert imports(code / ".venv" / "bin" / "python", "otherpkg")
    for wheel in offline_index.iterdir():  # only uv's cache holds the packages now
        wheel.unlink()
    restored = cli("env", "restore", "clean", "--run", first, "--json")
    assert restored.code == 0, restored.stderr
    assert restored.json()["locked"] == {"toypkg": "1.0"}
    assert not imports(code / ".venv" / "bin" / "python", "otherpkg"), "the package is not gone"
    assert imports(code / ".venv" / "bin" / "python", "toypkg")
    assert sha256(code / "uv.lock") == chain.run_envs.show("clean", first).locks["uv"]
    assert "v2" in (code / "main.py").read_text(), "env restore must leave the code alone"
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert "lock removed: otherpkg 0.1" in status["clean"].reasons


def test_node_restore_makes_a_node_with_that_runs_code_params_and_lock_and_it_runs(
    chain: nodepipe.Workspace, two_runs: tuple[str, str], cli: CliRunner
) -> None:
    first, _ = two_runs
    made = cli("node", "restore", "clean", "--run", first, "--as", "clean-then", "--json")
    assert made.code == 0, made.stderr
    new_id = made.json()["id"]
    past = chain.run_envs.show("clean", first)
    code = chain.nodes.path(new_id) / "code"
    files = {
        p.relative_to(code).as_posix(): sha256(p)
        for p in code.rglob("*")
        if p.is_file() and ".venv" not in p.relative_to(code).parts
    }
    assert files == past.files
    assert chain.nodes.show(new_id).params == {"n": 1}
    assert [(i.slot, i.tag) for i in chain.nodes.show(new_id).inputs] == [("01", "load")]
    assert not imports(code / ".venv" / "bin" / "python", "otherpkg")
    result = chain.runs.run(RunRequest("baseline", only=["clean-then"]))
    assert result.finished is not None and result.finished.completed == 1
    assert (chain.nodes.path(new_id) / "data" / "out.txt").read_text() == "v1 1.0 1 seed"
    assert chain.run_envs.show(new_id, result.run_id or "").locks == past.locks
    assert "v2" in (chain.nodes.path("clean") / "code" / "main.py").read_text()  # untouched


def test_a_run_with_no_stored_environment_is_refused_and_changes_nothing(
    chain: nodepipe.Workspace, two_runs: tuple[str, str], cli: CliRunner
) -> None:
    first, second = two_runs
    before, env_before = snapshot(chain), project_state(chain, "clean")
    with pytest.raises(NotFoundError, match="'plot' took no part in run"):
        chain.run_envs.restore("plot", first)
    with pytest.raises(NotFoundError, match="'plot' took no part in run"):
        chain.nodes.restore("plot", first, "plot-then")
    with pytest.raises(NotFoundError, match="no run"):
        chain.run_envs.restore("clean", "nosuchrun")
    with pytest.raises(InvalidInputError):
        chain.nodes.restore("clean", first, "bad/tag")
    with chain.context.store.engine.begin() as connection:  # as an older nodepipe recorded it
        connection.execute(sa.delete(node_run_environments))
    refused = cli("env", "restore", "clean", "--run", first)
    assert refused.code == 2 and "no stored environment" in refused.stderr
    refused = cli("node", "restore", "clean", "--run", second, "--as", "again")
    assert refused.code == 2 and "no stored environment" in refused.stderr
    assert snapshot(chain) == before
    assert project_state(chain, "clean") == env_before


def test_lost_contents_or_a_locked_node_are_refused_and_change_nothing(
    chain: nodepipe.Workspace, two_runs: tuple[str, str]
) -> None:
    first, _ = two_runs
    before, env_before = snapshot(chain), project_state(chain, "clean")
    chain.nodes.lock("clean")
    with pytest.raises(ReadOnlyError):
        chain.run_envs.restore("clean", first)
    chain.nodes.unlock("clean")
    before = snapshot(chain)
    shutil.rmtree(chain.context.layout.objects_dir)
    with pytest.raises(NotFoundError, match="missing"):
        chain.run_envs.restore("clean", first)
    with pytest.raises(NotFoundError, match="missing"):
        chain.nodes.restore("clean", first, "clean-then")
    assert snapshot(chain) == before
    assert project_state(chain, "clean") == env_before


def damage(path: Path, data: bytes) -> None:
    """Write ``data`` over a stored content (read-only in the store), as bit rot would."""
    path.chmod(0o644)
    path.write_bytes(data)
    path.chmod(0o444)


def test_a_damaged_record_is_told_as_damaged_storage_and_changes_nothing(
    chain: nodepipe.Workspace, two_runs: tuple[str, str], cli: CliRunner
) -> None:
    """A walkthrough: a stored content that no longer hashes to its name (changed, or cut
    short) made `env restore` exit 3, "unknown name"; it is the workspace's stored record that
    is damaged: said so, naming the run, the node and the file, with the storage exit code."""
    first, _ = two_runs
    past = chain.run_envs.show("clean", first)
    objects = ObjectStore(chain.context.layout.objects_dir)
    before, env_before = snapshot(chain), project_state(chain, "clean")
    main_before = (chain.nodes.path("clean") / "code" / "main.py").read_bytes()
    lock = objects.path(past.locks["uv"])
    damage(lock, lock.read_bytes().replace(b"toypkg", b"toypkh", 1))

    restored = cli("env", "restore", "clean", "--run", first)
    assert restored.code == 9, restored.stderr
    assert f"what run {first} recorded of node 'clean' is damaged" in restored.stderr
    assert f"the stored uv.lock (content {past.locks['uv'][:12]}, {lock})" in restored.stderr
    assert "nothing was changed" in restored.stderr
    made = cli("node", "restore", "clean", "--run", first, "--as", "clean-then")
    assert made.code == 9 and "the stored uv.lock" in made.stderr, made.stderr
    shown = cli("runs", "--run", first, "--node", "clean", "--lock")
    assert shown.code == 9 and "damaged" in shown.stderr, shown.stderr

    manifest = objects.path(past.code)
    damage(manifest, manifest.read_bytes()[:-10])  # cut short
    restored = cli("env", "restore", "clean", "--run", first)
    assert restored.code == 9, restored.stderr
    assert f"the stored code manifest (content {past.code[:12]}" in restored.stderr
    assert snapshot(chain) == before
    assert project_state(chain, "clean") == env_before
    assert (chain.nodes.path("clean") / "code" / "main.py").read_bytes() == main_before


def test_a_damaged_content_is_stored_anew_by_the_next_run_and_doctor_finds_one(
    chain: nodepipe.Workspace, two_runs: tuple[str, str], cli: CliRunner
) -> None:
    """A walkthrough: restore reported a damaged content and advised running the node again,
    but the store kept the damaged bytes (a content already there is not written again), so
    the new run named them too and its restore failed the same way; `doctor` said nothing."""
    _, second = two_runs
    past = chain.run_envs.show("clean", second)
    objects = ObjectStore(chain.context.layout.objects_dir)
    lock = objects.path(past.locks["uv"])
    damage(lock, lock.read_bytes().replace(b"toypkg", b"toypkh", 1))

    found = cli("doctor", "--objects", "--json")
    assert found.code == 0, found.stderr
    assert json.loads(found.stdout)["damaged"] == [past.locks["uv"]]
    told = cli("doctor", "--objects")
    assert "1 damaged contents" in told.stdout and past.locks["uv"][:12] in told.stdout
    assert "nodepipe doctor --objects --repair" in told.stdout, told.stdout

    refused = cli("node", "restore", "clean", "--run", second, "--as", "clean-then")
    assert refused.code == 9 and "run it again" in refused.stderr, refused.stderr
    assert cli("node", "restore", "clean", "--run", second, "--as", "clean-then").code == 9
    again = chain.runs.run(RunRequest("baseline", only=["clean"], force=True))
    assert again.run_id is not None and again.finished is not None
    assert again.finished.failed == 0
    assert chain.run_envs.show("clean", again.run_id).locks["uv"] == past.locks["uv"]
    made = cli("node", "restore", "clean", "--run", again.run_id, "--as", "clean-again")
    assert made.code == 0, made.stderr
    assert sha256(chain.nodes.path("clean-again") / "code" / "uv.lock") == past.locks["uv"]
    assert cli("node", "restore", "clean", "--run", second, "--as", "clean-then").code == 0

    manifest = objects.path(past.code)
    damage(manifest, manifest.read_bytes()[:-10])
    repaired = cli("doctor", "--objects", "--repair", "--json")
    assert repaired.code == 0, repaired.stderr
    assert json.loads(repaired.stdout)["damaged"] == [past.code]
    assert not manifest.exists() and objects.aside(past.code).exists()
    assert json.loads(cli("doctor", "--objects", "--json").stdout)["damaged"] == []


def test_a_node_on_a_shared_environment_is_not_restored_over_it(
    chain: nodepipe.Workspace, offline_index: Path
) -> None:
    chain.shared_envs.new("tools")
    chain.nodes.new("baseline", "viz", shared_env="tools")
    ran = chain.runs.run(RunRequest("baseline", only=["viz"]))
    assert ran.run_id is not None
    before, env_before = snapshot(chain), project_state(chain, "viz")
    with pytest.raises(ConflictError, match="shared environment 'tools'"):
        chain.run_envs.restore("viz", ran.run_id)
    assert snapshot(chain) == before and project_state(chain, "viz") == env_before


def test_a_node_that_could_not_prepare_is_said_so_on_restore(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """Not "recorded before nodepipe kept environments" (audit2 F12): the run is minutes old."""
    (chain.nodes.path("clean") / "code" / "pyproject.toml").write_text("[project\nbroken")
    ran = cli("run", "baseline", "--json")
    assert ran.code != 0
    run = json.loads(ran.stdout.splitlines()[0])["run_id"]
    before = snapshot(chain)
    for command in (
        ("node", "restore", "clean", "--as", "clean-then"),
        ("env", "restore", "clean"),
    ):
        refused = cli(*command, "--run", run)
        assert refused.code == 2, refused.stdout + refused.stderr
        said = " ".join(refused.stderr.split())
        assert f"'clean' did not start in run {run} (could not prepare): nothing was recorded" in (
            said
        ), said
    assert snapshot(chain) == before


RUN_SH = """\
#!/bin/sh
echo ran > "$NODEPIPE_DATA_DIR/out.txt"
"""


def test_node_restore_keeps_the_executable_bit_and_never_widens_a_private_file(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """audit2 F11: a restored command node starts; a 0600 file stays 0600."""
    code = chain.nodes.path("load") / "code"
    (code / "run.sh").write_text(RUN_SH)
    (code / "run.sh").chmod(0o755)
    (code / ".env").write_text("API_KEY=secret\n")
    (code / ".env").chmod(0o600)
    pyproject = code / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'entry = "main.py"', 'entry = "main.py"\ncommand = ["./run.sh"]'
        )
    )
    first = chain.runs.run(RunRequest("baseline", only=["load"]))
    assert first.finished is not None and first.finished.completed == 1, first
    run = first.run_id or ""
    made = cli("node", "restore", "load", "--run", run, "--as", "load-then", "--json")
    assert made.code == 0, made.stderr
    restored = chain.nodes.path(made.json()["id"]) / "code"
    assert (restored / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (restored / ".env").stat().st_mode & 0o077 == 0, "the private file became readable"
    assert (restored / "pyproject.toml").stat().st_mode & 0o777 == 0o644
    again = chain.runs.run(RunRequest("baseline", only=["load-then"]))
    assert again.finished is not None and again.finished.completed == 1, again
    assert (restored.parent / "data" / "out.txt").read_text() == "ran\n"
