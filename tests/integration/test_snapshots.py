"""Snapshots (issue 14, finding 2): an update relocks and syncs, its reason names the commits,
local edits are never overwritten silently; a lock out of step with a snapshot is relocked."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from integration.test_external_code import answer, git, states
from nodepipe import NodeState
from nodepipe.domain.errors import ConflictError, EnvironmentBuildError
from nodepipe.services.envs.environments import EnvironmentService
from nodepipe.services.runs.service import RunRequest
from support.wheels import local_project

WRITES_ANSWER = """\
import mytool, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(str(mytool.ANSWER))
"""
USES_TOYPKG = "import toypkg\nANSWER = toypkg.VERSION\n"
NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))


@pytest.fixture
def envs(chain: nodepipe.Workspace, offline_uv: Path) -> EnvironmentService:
    for tag in ("load", "clean", "plot"):
        (chain.nodes.path(tag) / "code" / "main.py").write_text("pass\n")
    (chain.nodes.path("clean") / "code" / "main.py").write_text(WRITES_ANSWER)
    return chain.envs


def needs(project: Path, requirement: str) -> None:
    """The project now requires ``requirement`` (and its module uses toypkg)."""
    text = (project / "pyproject.toml").read_text()
    head, rest = text.split("\n", 1)
    (project / "pyproject.toml").write_text(f"{head}\ndependencies = [{requirement!r}]\n{rest}")
    (project / "mytool" / "__init__.py").write_text(USES_TOYPKG)


def commit(repo: Path, message: str) -> str:
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_an_update_relocks_for_a_new_upstream_requirement_and_names_the_commits(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    upstream = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    git(upstream, "init", "--quiet", "--initial-branch=main")
    first = commit(upstream, "first")
    envs.add("clean", [], snapshot=str(upstream))
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "1"

    needs(upstream, "toypkg==2.0")
    second = commit(upstream, "uses toypkg")
    updated = cli("env", "update-snapshot", "clean", "mytool", "--json")
    assert updated.code == 0, updated.stdout + updated.stderr
    assert updated.json()["locked"]["toypkg"] == "2.0"  # relocked: the new requirement is in
    state, reasons = states(chain)["clean"]
    assert state is NodeState.STALE
    assert f"snapshot mytool {first[:7]} → {second[:7]}" in reasons
    assert not any(r.startswith("code changed") for r in reasons)
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "2.0"


def test_a_failed_relock_puts_the_previous_snapshot_back(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path
) -> None:
    upstream = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    git(upstream, "init", "--quiet", "--initial-branch=main")
    first = commit(upstream, "first")
    envs.add("clean", [], snapshot=str(upstream))
    code = chain.nodes.path("clean") / "code"
    lock = (code / "uv.lock").read_text()
    needs(upstream, "toypkg==7.0")  # no such version
    commit(upstream, "needs what no index has")
    with pytest.raises(EnvironmentBuildError):
        envs.update_snapshot("clean", "mytool")
    snapshot = code / "snapshots" / "mytool"
    assert git(snapshot, "rev-parse", "HEAD") == first
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 1\n"
    assert (code / "uv.lock").read_text() == lock
    assert sorted(p.name for p in (code / "snapshots").iterdir()) == ["mytool"]


def test_a_copy_update_refuses_to_overwrite_local_edits_without_force(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    envs.add("clean", [], snapshot=str(origin))
    snapshot = chain.nodes.path("clean") / "code" / "snapshots" / "mytool"
    (snapshot / "mytool" / "__init__.py").write_text("ANSWER = 'mine'\n")
    (snapshot / "mytool" / "extra.py").write_text("X = 1\n")
    (origin / "mytool" / "__init__.py").write_text("ANSWER = 2\n")

    with pytest.raises(ConflictError, match=r"mytool/__init__\.py, mytool/extra\.py"):
        envs.update_snapshot("clean", "mytool")
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 'mine'\n"
    refused = cli("env", "update-snapshot", "clean", "mytool")
    assert refused.code != 0 and "--force" in " ".join(refused.stderr.split())

    envs.update_snapshot("clean", "mytool", force=True)
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 2\n"
    assert not (snapshot / "mytool" / "extra.py").exists()
    (origin / "mytool" / "__init__.py").write_text("ANSWER = 3\n")
    envs.update_snapshot("clean", "mytool")  # no local edits now: no --force needed
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 3\n"


def test_a_fifo_in_a_copied_folder_is_left_out_of_its_snapshot(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    """A FIFO is no code (the fingerprint never counts one) and cannot be copied: a snapshot
    of a folder holding one failed with shutil's list of errors (exit 9), naming no fix."""
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    os.mkfifo(origin / "mytool" / "events")
    added = cli("env", "add", "clean", "--snapshot", str(origin))
    assert added.code == 0, added.stderr
    snapshot = chain.nodes.path("clean") / "code" / "snapshots" / "mytool"
    assert (snapshot / "mytool" / "__init__.py").is_file()
    assert not (snapshot / "mytool" / "events").exists()
    (origin / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
    assert cli("env", "update-snapshot", "clean", "mytool").code == 0  # copied again
    assert (snapshot / "mytool" / "__init__.py").read_text() == "ANSWER = 2\n"


def test_an_upstream_that_rewrote_its_history_is_refused_in_our_words_and_force_resets_to_it(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    upstream = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    git(upstream, "init", "--quiet", "--initial-branch=main")
    first = commit(upstream, "first")
    (upstream / "mytool" / "__init__.py").write_text("ANSWER = 2\n")
    commit(upstream, "second")
    envs.add("clean", [], snapshot=str(upstream))
    snapshot = chain.nodes.path("clean") / "code" / "snapshots" / "mytool"
    (snapshot / "notes.txt").write_text("mine\n")
    mine = commit(snapshot, "my own note")  # a commit only the snapshot has
    chain.runs.run(RunRequest("baseline"))
    git(upstream, "reset", "--quiet", "--hard", first)  # the upstream rewrites its history
    (upstream / "mytool" / "__init__.py").write_text("ANSWER = 5\n")
    rewritten = commit(upstream, "second, rewritten")

    refused = cli("env", "update-snapshot", "clean", "mytool")
    message = " ".join(refused.stderr.split())
    assert refused.code == 4, message
    assert (
        f"the snapshot's history and mytool's upstream have diverged: {mine[:7]} is not an "
        f"ancestor of {rewritten[:7]}"
    ) in message
    clean = chain.nodes.get("clean").id  # a hint names a node by id: tags repeat
    assert f"`nodepipe env update-snapshot {clean} mytool --force`" in message
    assert "fast-forward" not in message  # git's words stay out
    assert git(snapshot, "rev-parse", "HEAD") == mine  # untouched
    assert states(chain)["clean"][0] is NodeState.COMPLETED

    updated = cli("env", "update-snapshot", "clean", "mytool", "--force", "--json")
    assert updated.code == 0, updated.stdout + updated.stderr
    (warning,) = updated.json()["warnings"]
    assert f"commit {mine[:7]} my own note" in warning
    assert git(snapshot, "rev-parse", "HEAD") == rewritten
    assert not (snapshot / "notes.txt").exists()
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["mytool"]  # nothing aside
    state, reasons = states(chain)["clean"]
    assert state is NodeState.STALE
    assert f"snapshot mytool {mine[:7]} → {rewritten[:7]}" in reasons
    chain.runs.run(RunRequest("baseline"))
    assert answer(chain, "clean") == "5"


def test_a_lock_out_of_step_with_a_snapshot_is_relocked_before_the_run_unless_frozen(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    envs.add("clean", [], snapshot=str(origin))
    code = chain.nodes.path("clean") / "code"
    pyproject = (code / "pyproject.toml").read_text()
    (code / "pyproject.toml").write_text(
        pyproject.replace("[tool.nodepipe]", "[tool.nodepipe]\nfrozen-lock = true")
    )
    needs(code / "snapshots" / "mytool", "toypkg==1.0")  # edited by hand in the snapshot
    frozen = cli("run", "baseline", "--to", "clean")
    assert frozen.code != 0
    assert "frozen-lock" in " ".join((frozen.stdout + frozen.stderr).split())

    (code / "pyproject.toml").write_text(pyproject)
    result = cli("run", "baseline", "--to", "clean")
    assert result.code == 0, result.stdout + result.stderr
    assert answer(chain, "clean") == "1.0"
    assert "toypkg" in envs.show("clean").locked


def test_env_sync_relocks_a_lock_out_of_step_with_a_snapshot_unless_frozen(
    chain: nodepipe.Workspace, envs: EnvironmentService, tmp_path: Path, cli: CliRunner
) -> None:
    origin = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    envs.add("clean", [], snapshot=str(origin))
    code = chain.nodes.path("clean") / "code"
    pyproject = (code / "pyproject.toml").read_text()
    (code / "pyproject.toml").write_text(
        pyproject.replace("[tool.nodepipe]", "[tool.nodepipe]\nfrozen-lock = true")
    )
    lock = (code / "uv.lock").read_text()
    needs(code / "snapshots" / "mytool", "toypkg==2.0")
    frozen = cli("env", "sync", "clean")
    assert frozen.code != 0 and "frozen" in " ".join(frozen.stderr.split())
    node_id = chain.nodes.get("clean", "baseline").id
    told = f"relock it on purpose with `nodepipe env lock {node_id}`, or undo the change"
    assert told in " ".join(frozen.stderr.split())
    assert (code / "uv.lock").read_text() == lock  # refused: nothing relocked

    (code / "pyproject.toml").write_text(pyproject)
    synced = cli("env", "sync", "clean", "--json")
    assert synced.code == 0, synced.stderr
    assert synced.json()["locked"]["toypkg"] == "2.0"


class _AsksForPassword(BaseHTTPRequestHandler):
    """A git server that wants a user name and password for everything."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="private"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


def test_a_repository_asking_for_a_password_fails_at_once_instead_of_waiting_at_the_terminal(
    chain: nodepipe.Workspace,
) -> None:
    """A server or a CLI started from a terminal never waits there for someone to type a
    password (git would ask on the terminal: the request would hang); the snapshot fails, naming
    why, and nothing is added."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AsksForPassword)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/private/mytool.git"
    before = (chain.nodes.path("clean") / "code" / "pyproject.toml").read_text()
    command = [NODEPIPE, "-w", str(chain.root), "env", "add", "clean", "--snapshot", url]
    # ``script`` gives the command a terminal of its own, where git could ask; nobody types
    # there (its input stays open: no end of file either).
    on_a_terminal = ["script", "--quiet", "--return", "--command", shlex.join(command), "/dev/null"]
    with subprocess.Popen(
        on_a_terminal, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        assert process.stdout is not None
        out = process.stdout
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(out.read1, b"")))
        reader.start()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"still waiting after 120 s: {b''.join(chunks).decode(errors='replace')}")
        finally:
            server.shutdown()
            reader.join(10)
    output = b"".join(chunks)
    text = output.decode(errors="replace")
    assert process.returncode == 2, text
    assert "git clone failed" in text and "could not read Username" in text, text
    assert (chain.nodes.path("clean") / "code" / "pyproject.toml").read_text() == before
    assert not (chain.nodes.path("clean") / "code" / "snapshots" / "mytool").exists()


def test_a_snapshot_of_the_folder_holding_the_workspace_leaves_the_workspace_out(
    tmp_path: Path, offline_uv: Path
) -> None:
    """A repository that holds the user's package and the workspace: copying it whole would
    copy the snapshot into itself (it was a RecursionError)."""
    repo = local_project(tmp_path / "repo", "mytool", "0.1", "ANSWER = 7\n")
    ws = nodepipe.init(repo / "ws")
    try:
        ws.pipelines.new("p")
        ws.nodes.new("p", "a")
        (ws.nodes.path("a") / "code" / "main.py").write_text(WRITES_ANSWER)
        ws.envs.add("a", [], snapshot=str(repo))
        copied = ws.nodes.path("a") / "code" / "snapshots" / "repo"
        assert (copied / "mytool" / "__init__.py").is_file() and not (copied / "ws").exists()
        ws.runs.run(RunRequest("p"))
        assert answer(ws, "a") == "7"
        with pytest.raises(nodepipe.InvalidInputError, match="is a nodepipe workspace"):
            ws.envs.add("a", [], snapshot=str(repo / "ws"))
        assert not (ws.nodes.path("a") / "code" / "snapshots" / "ws").exists()
    finally:
        ws.close()
