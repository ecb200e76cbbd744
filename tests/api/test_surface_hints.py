"""A refusal speaks each surface's language: the CLI names the command that does the fix (and
pasting it works), the web API's error says what is wrong without a CLI option or command and
carries the hint its app words as a menu item.

Found by reading the messages of the layers below the surfaces: an include whose bundle input
was not fed said "give --input raw=NODE", a snapshot taken twice named `nodepipe env
update-snapshot …`, a bundle asking for its Python by path named `nodepipe env python …`, a run
without a shared filesystem said "(--storage)", and a snapshot with local edits "update with
--force", to web users as much as to CLI users.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, finish_job
from integration.conftest import CliRunner, cli, offline_uv
from support.wheels import local_project

__all__ = ["cli", "offline_uv"]  # the fixtures: the CLI in this process; uv offline

ENV = "/api/pipelines/baseline/nodes/clean/environment"
CLI_WORDS = re.compile(r"--[a-z]|nodepipe |`")


def commands(stderr: str) -> list[list[str]]:
    """Every command the CLI's message quotes in backticks, as arguments."""
    return [shlex.split(quoted) for quoted in re.findall(r"`([^`]+)`", " ".join(stderr.split()))]


def assert_web_words(error: dict[str, Any], hint: dict[str, Any] | None) -> None:
    """The error body names no CLI option or command, and carries ``hint``."""
    assert not CLI_WORDS.search(error["message"]), error["message"]
    assert error.get("hint") == hint, error


def test_a_run_without_shared_files_or_storage_names_the_option_or_the_setting(
    chain: nodepipe.Workspace, client: TestClient, cli: CliRunner, tmp_path: Path
) -> None:
    answer = client.post(
        "/api/pipelines/baseline/runs", json={"executor": "ray", "shared_fs": False}
    )
    assert "need an object storage" in error_of(answer, 422, "invalid_input")
    asked = {"pipeline": "baseline", "executor": "ray", "shared_fs": "false"}  # for its dialog
    assert_web_words(answer.json(), {"action": "run.storage", "params": asked})
    # The Python API names the call: the run asked for, its options repeated, with a storage.
    request = nodepipe.RunRequest("baseline", ["plot"], jobs=2, executor="ray", shared_fs=False)
    with pytest.raises(nodepipe.InvalidInputError, match="need an object storage") as refused:
        chain.runs.run(request)
    assert refused.value.__notes__ == [
        "name one for this run with RunRequest('baseline', only=['plot'], jobs=2, "
        "executor='ray', shared_fs=False, storage=URL) (a folder or any fsspec URL, e.g. "
        "s3://bucket/prefix), or set [storage] url in nodepipe.toml"
    ]

    refused = cli("run", "baseline", "--executor", "ray", "--no-shared-fs")
    assert refused.code == 2, refused.stderr
    assert "need an object storage, and none is named" in refused.stderr
    (command,) = commands(refused.stderr)
    assert command == [
        "nodepipe", "run", "baseline", "--executor", "ray", "--no-shared-fs", "--storage", "URL"
    ]  # fmt: skip
    # pasted with a storage, the run gets past that check: to the next refusal, made on purpose
    assert cli("env", "interpreter", "load", sys.executable).code == 0
    pasted = cli(*command[1:-1], str(tmp_path / "bucket"))
    assert pasted.code == 2 and "load runs with the interpreter" in pasted.stderr, pasted.stderr
    assert "object storage" not in pasted.stderr

    with chain.context.store.read() as session:
        assert not session.list_runs()


def test_a_python_asked_for_by_path_names_the_command_that_sets_a_version(
    chain: nodepipe.Workspace, client: TestClient, cli: CliRunner, tmp_path: Path, offline_uv: Path
) -> None:
    code = chain.nodes.path("clean", "baseline") / "code"
    (code / ".python-version").write_text(f"{sys.executable}\n", encoding="utf-8")
    answer = client.get("/api/pipelines/baseline/bundle.zip")
    assert "node 'clean' asks for its Python by path" in error_of(answer, 422)
    clean = {"node": chain.nodes.get("clean", "baseline").id, "tag": "clean"}
    assert_web_words(answer.json(), {"action": "env.python", "params": clean})

    bundle = tmp_path / "bundle"
    refused = cli("bundle", "export", "baseline", str(bundle))
    assert refused.code == 2, refused.stderr
    (command,) = commands(refused.stderr)
    assert command == ["nodepipe", "env", "python", clean["node"], "VERSION"]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    pasted = cli(*command[1:-1], version)
    assert pasted.code == 0, pasted.stderr
    assert cli("bundle", "export", "baseline", str(bundle)).code == 0


def test_a_snapshot_taken_twice_names_the_refresh_and_the_removal(
    chain: nodepipe.Workspace,
    client: TestClient,
    app: FastAPI,
    cli: CliRunner,
    tmp_path: Path,
    offline_uv: Path,
) -> None:
    mytool = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    assert cli("env", "add", "clean", "--snapshot", str(mytool)).code == 0

    job = client.post(f"{ENV}/packages", json={"snapshot": str(mytool)})
    assert job.status_code == 202, job.text
    done = finish_job(client, app, job.json())
    assert done["status"] == "failed"
    assert "already has a snapshot named 'mytool'" in done["error"]["message"]
    clean = {"node": chain.nodes.get("clean", "baseline").id, "tag": "clean"}
    hint = {"action": "snapshot.refresh", "params": {**clean, "snapshot": "mytool"}}
    assert_web_words(done["error"], hint)

    refused = cli("env", "add", "clean", "--snapshot", str(mytool))
    assert refused.code == 2, refused.stderr
    refresh, removal = commands(refused.stderr)
    assert refresh == ["nodepipe", "env", "update-snapshot", clean["node"], "mytool"]
    assert removal == ["nodepipe", "env", "remove", clean["node"], "PACKAGE"]
    refreshed = cli(*refresh[1:])
    assert refreshed.code == 0, refreshed.stderr
    removed = cli(*removal[1:-1], "mytool")
    assert removed.code == 0, removed.stderr
    assert cli("env", "add", "clean", "--snapshot", str(mytool)).code == 0  # taken anew


def test_a_snapshot_with_local_edits_names_no_option_on_the_web(
    chain: nodepipe.Workspace, client: TestClient, app: FastAPI, tmp_path: Path, offline_uv: Path
) -> None:
    mytool = local_project(tmp_path / "src" / "mytool", "mytool", "0.1", "ANSWER = 1\n")
    chain.envs.add("clean", [], snapshot=str(mytool), pipeline="baseline")
    code = chain.nodes.path("clean", "baseline") / "code"
    (code / "snapshots" / "mytool" / "mytool" / "__init__.py").write_text("ANSWER = 2\n")

    job = client.post(f"{ENV}/snapshots/mytool/refresh")
    assert job.status_code == 202, job.text
    done = finish_job(client, app, job.json())
    assert done["status"] == "failed"
    assert "snapshot mytool has local edits" in done["error"]["message"]
    clean = {"node": chain.nodes.get("clean", "baseline").id, "tag": "clean"}
    hint = {"action": "snapshot.reset", "params": {**clean, "snapshot": "mytool"}}
    assert_web_words(done["error"], hint)


def test_an_input_not_fed_names_the_option_that_feeds_it(
    chain: nodepipe.Workspace, client: TestClient, cli: CliRunner, tmp_path: Path, offline_uv: Path
) -> None:
    library = tmp_path / "library" / "features"
    assert cli("bundle", "export", "baseline", str(library), "--input", "raw=load").code == 0
    chain.pipelines.new("alpha")
    chain.nodes.new("alpha", "prep")

    refused = cli("pipeline", "include", "alpha", str(library), "--as", "feat")
    assert refused.code == 2, refused.stderr
    assert "the bundle's input 'raw' is not fed" in refused.stderr
    (command,) = commands(refused.stderr)
    assert command == [
        "nodepipe", "pipeline", "include", "alpha", str(library), "--as", "feat",
        "--input", "raw=NODE",
    ]  # fmt: skip
    pasted = cli(*command[1:-1], "raw=prep")
    assert pasted.code == 0, pasted.stderr
    assert chain.nodes.get("feat.load", "alpha")

    # the bundle gains an input: the web's Update include cannot feed it, and says so plainly
    again = ("bundle", "export", "baseline", str(library), "--force")
    assert cli(*again, "--input", "raw=load", "--input", "extra=clean").code == 0
    answer = client.post("/api/pipelines/alpha/includes/feat/update", json={})
    message = error_of(answer, 422, "invalid_input")
    assert "it now declares 'extra', which nothing feeds" in message
    assert_web_words(answer.json(), None)
