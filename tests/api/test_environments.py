"""Environments through the API, offline (tiny local wheels): node, pipeline base, shared."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, finish_job
from integration.conftest import snapshot
from support.other_user import other_user
from support.wheels import toy_index

ENV = "/api/pipelines/baseline/nodes/clean/environment"


@pytest.fixture(autouse=True)
def offline_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """uv finds packages only in a local folder of wheels and never reaches the network."""
    wheels = toy_index(tmp_path / "wheels")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    return wheels


def job(client: TestClient, app: FastAPI, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, path, **kwargs)
    assert response.status_code == 202, response.text
    return finish_job(client, app, response.json())


def test_show_add_remove_lock_sync(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    env = client.get(ENV).json()
    assert env["tag"] == "clean" and env["direct"] == [] and env["python"].startswith("3.")
    added = job(client, app, "POST", f"{ENV}/packages", json={"requirements": ["toypkg==1.0"]})
    assert added["status"] == "succeeded", added
    env = client.get(ENV).json()
    assert env["direct"] == ["toypkg==1.0"] and env["locked"] == {"toypkg": "1.0"}
    python = chain.nodes.path("clean") / "code" / ".venv" / "bin" / "python"
    assert subprocess.run([python, "-c", "import toypkg"], check=False).returncode == 0
    assert job(client, app, "POST", f"{ENV}/lock", json={"upgrade": True})["status"] == "succeeded"
    assert job(client, app, "POST", f"{ENV}/sync")["status"] == "succeeded"
    removed = job(client, app, "DELETE", f"{ENV}/packages", params={"packages": ["toypkg"]})
    assert removed["status"] == "succeeded" and client.get(ENV).json()["locked"] == {}


def test_environment_refusals_change_nothing(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    before = snapshot(chain)
    unresolvable = job(
        client, app, "POST", f"{ENV}/packages", json={"requirements": ["toypkg==9.9"]}
    )
    assert unresolvable["status"] == "failed"
    assert unresolvable["error"]["kind"] == "requirement_not_found"
    said = unresolvable["error"]["uv_output"]  # uv's full text, for the web app's "Details"
    assert "toypkg" in said
    folder = str(Path(__file__).parent)  # a folder the server may use: the refusal is "both"
    both = job(client, app, "POST", f"{ENV}/packages", json={"requirements": ["a"], "path": folder})
    assert both["error"]["kind"] == "invalid_input"
    python = client.put(f"{ENV}/python", json={"version": "3.99"})  # at once, no job
    assert "never downloads" in error_of(python, 422, "requirement_not_found")
    bad = client.put(f"{ENV}/python", json={"version": "three"})
    assert "expected a Python version request" in error_of(bad, 422, "invalid_input")
    snap = client.post(f"{ENV}/snapshots/nope/refresh")  # at once, no job
    assert "has no snapshot 'nope' (snapshots: none)" in error_of(snap, 404, "not_found")
    assert client.get(ENV).json()["direct"] == []
    assert snapshot(chain) == before
    error_of(client.get("/api/pipelines/baseline/nodes/nope/environment"), 404)
    error_of(client.post("/api/pipelines/baseline/nodes/nope/environment/sync"), 404)
    error_of(client.delete(f"{ENV}/packages"), 422)
    error_of(client.put(f"{ENV}/python", json={"version": ""}), 422)
    chain.nodes.lock("clean")
    locked = job(client, app, "POST", f"{ENV}/packages", json={"requirements": ["toypkg"]})
    assert locked["error"]["kind"] == "read_only"
    assert locked["error"]["hint"]["action"] == "node.unlock"  # a job's error carries it too
    python = client.put(f"{ENV}/python", json={"version": "3"})  # another Python: at once
    assert error_of(python, 409, "read_only") and python.json()["hint"]["action"] == "node.unlock"


def test_a_pin_the_inline_metadata_rules_out_is_refused_before_a_job(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """main.py's `# /// script` asks for toypkg==1.0: adding toypkg==2.0 is refused at once
    (422, naming both), no job started, nothing changed."""
    main = chain.nodes.path("clean") / "code" / "main.py"
    main.write_text('# /// script\n# dependencies = ["toypkg==1.0"]\n# ///\n')
    before = snapshot(chain)
    refused = client.post(f"{ENV}/packages", json={"requirements": ["toypkg==2.0"]})
    said = error_of(refused, 422, "unresolvable")
    assert "toypkg==2.0 conflicts with toypkg==1.0, which main.py asks for" in said
    assert snapshot(chain) == before  # 422, not 202: no job was started
    sent = {"file_name": "requirements.txt", "text": "otherpkg==0.1\ntoypkg==2.0\n"}
    imported = client.post(f"{ENV}/import", json=sent)
    said = error_of(imported, 422, "unresolvable")
    assert "toypkg==2.0 conflicts with toypkg==1.0, which main.py asks for" in said
    assert snapshot(chain) == before


def test_install_a_kernel(
    client: TestClient, app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    done = job(client, app, "POST", f"{ENV}/kernel")
    assert done["status"] == "succeeded" and "kernel" in done["message"]
    error_of(client.post("/api/pipelines/baseline/nodes/nope/environment/kernel"), 404)


def test_pipeline_base_packages(client: TestClient, app: FastAPI) -> None:
    base = "/api/pipelines/baseline/base-packages"
    assert client.get(base).json()["packages"] == []
    assert job(client, app, "POST", base, json={"packages": ["otherpkg"]})["status"] == "succeeded"
    assert client.get(base).json()["packages"] == ["otherpkg"]
    assert "otherpkg" in client.get(ENV).json()["locked"]
    gone = job(client, app, "DELETE", base, params={"packages": ["otherpkg"]})
    assert gone["status"] == "succeeded" and client.get(base).json()["packages"] == []
    error_of(client.get("/api/pipelines/nope/base-packages"), 404)
    error_of(client.post(base, json={"packages": []}), 422)


def test_base_package_refusals_come_at_once_or_name_the_node_and_change_nothing(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    """A removal of a package the base lacks and a locked pipeline are answered before any
    job; a package the index lacks fails the job, naming the package and the node by tag."""
    base = "/api/pipelines/baseline/base-packages"
    before = snapshot(chain)
    absent = client.delete(base, params={"packages": ["toypkg"]})  # at once, no job
    said = error_of(absent, 422, "invalid_input")
    assert said == "pipeline 'baseline' has no base package toypkg: its base packages are none"
    missing = job(client, app, "POST", base, json={"packages": ["toypkg==9.9"]})
    assert missing["error"]["kind"] == "requirement_not_found"
    first_line = missing["error"]["message"].split("\n", 1)[0]
    tag = first_line.rsplit("(could not add toypkg==9.9 to node ", 1)[-1].rstrip("):")
    assert tag in {n.tag for n in chain.nodes.list("baseline")}, first_line  # not its id
    assert client.get(base).json()["packages"] == [] and snapshot(chain) == before
    chain.pipelines.lock("baseline")
    before = snapshot(chain)
    for refused in (
        client.post(base, json={"packages": ["toypkg"]}),
        client.delete(base, params={"packages": ["toypkg"]}),
    ):
        assert "is locked" in error_of(refused, 409, "read_only")
        assert refused.json()["hint"]["action"] == "pipeline.unlock"
    assert snapshot(chain) == before


def test_shared_environments_and_nodes_that_use_them(client: TestClient, app: FastAPI) -> None:
    assert client.get("/api/shared-envs").json() == []
    made = job(
        client, app, "POST", "/api/shared-envs", json={"name": "tools", "packages": ["toypkg==2.0"]}
    )
    assert made["status"] == "succeeded", made
    assert client.get("/api/shared-envs").json() == ["tools"]
    assert client.get("/api/shared-envs/tools").json()["locked"] == {"toypkg": "2.0"}
    node = client.post(
        "/api/pipelines/baseline/nodes", json={"tag": "quick", "shared_env": "tools"}
    )
    assert node.status_code == 201
    added = job(
        client, app, "POST", "/api/shared-envs/tools/packages", json={"packages": ["otherpkg"]}
    )
    assert added["status"] == "succeeded"
    removed = job(
        client, app, "DELETE", "/api/shared-envs/tools/packages", params={"packages": ["otherpkg"]}
    )
    assert removed["status"] == "succeeded"
    again = client.post("/api/shared-envs", json={"name": "tools"})  # at once, no job
    assert "'tools' already exists" in error_of(again, 409, "conflict")
    assert [d["loc"] for d in again.json()["details"]] == [["body", "name"]]
    invalid = client.post("/api/shared-envs", json={"name": "a/b"})
    assert "invalid name 'a/b'" in error_of(invalid, 422, "invalid_input")
    assert [d["loc"] for d in invalid.json()["details"]] == [["body", "name"]]
    packages = ["toypkg", "no such"]
    for path, body in [
        ("/api/shared-envs", {"name": "other", "packages": packages}),
        ("/api/shared-envs/tools/packages", {"packages": packages}),
    ]:
        bad = client.post(path, json=body)
        assert "invalid requirement 'no such'" in error_of(bad, 422, "invalid_input")
        assert [d["loc"] for d in bad.json()["details"]] == [["body", "packages"]]
    assert client.get("/api/shared-envs").json() == ["tools"]
    error_of(client.get("/api/shared-envs/nope"), 404)
    error_of(client.post("/api/shared-envs/nope/packages", json={"packages": ["x"]}), 404)
    error_of(
        client.post("/api/pipelines/baseline/nodes", json={"tag": "x", "shared_env": "nope"}), 404
    )


def test_a_node_from_a_template(client: TestClient, chain: nodepipe.Workspace) -> None:
    (chain.nodes.path("clean") / "code" / "main.py").write_text("print('seeded')\n")
    node = client.post(
        "/api/pipelines/baseline/nodes", json={"tag": "seeded", "template": "clean"}
    ).json()
    assert (chain.nodes.path(node["id"]) / "code" / "main.py").read_text() == "print('seeded')\n"
    error_of(
        client.post("/api/pipelines/baseline/nodes", json={"tag": "x", "template": "nope"}), 404
    )


def test_isolation_switches_in_the_background(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    """The web app's Environment tab switches to an interpreter and back (finding 4)."""
    base = "/api/pipelines/baseline/nodes/clean/environment"
    body = {"mode": "interpreter", "interpreter": sys.executable}
    job = client.put(f"{base}/isolation", json=body)
    assert job.status_code == 202, job.text
    assert finish_job(client, app, job.json())["status"] == "succeeded"
    shown = client.get(base).json()
    assert shown["isolation"] == f"interpreter:{Path(sys.executable).absolute()}"
    refused = finish_job(client, app, client.post(f"{base}/sync").json())
    assert refused["status"] == "failed"
    clean = chain.nodes.get("clean", "baseline").id  # the CLI names it by id: tags repeat
    hint = {"action": "env.detach", "params": {"node": clean, "tag": "clean"}}
    assert refused["error"]["hint"] == hint
    back = finish_job(client, app, client.put(f"{base}/isolation", json={"mode": "own"}).json())
    assert back["status"] == "succeeded"
    assert client.get(base).json()["isolation"] == "own"


def test_plainly_bad_switches_and_library_links_are_refused_before_any_job(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A shared environment, interpreter or library node the body names that cannot be used is
    refused at once (404 for a name that names nothing, with the hint; 422 for an interpreter
    that cannot be used), not a 202 whose job then fails; nothing changes."""
    base = f"{ENV}/isolation"
    before = snapshot(chain)
    unknown = client.put(base, json={"mode": "shared", "shared_env": "nope"})
    assert "nope" in error_of(unknown, 404, "not_found")
    assert unknown.json()["hint"] == {"action": "shared_env.new", "params": {"name": "nope"}}
    relative = client.put(base, json={"mode": "interpreter", "interpreter": "python3"})
    assert "give an absolute path (python3 is not one)" in error_of(relative, 422, "invalid_input")
    assert [d["loc"] for d in relative.json()["details"]] == [["body", "interpreter"]]
    missing = client.put(base, json={"mode": "interpreter", "interpreter": "/no/such/python3"})
    assert "no file or folder at /no/such/python3" in error_of(missing, 422, "invalid_input")
    text = tmp_path / "python3"
    text.write_text("not a program\n")
    not_a_program = client.put(base, json={"mode": "interpreter", "interpreter": str(text)})
    assert "did not run as a Python interpreter" in error_of(not_a_program, 422)
    theirs = other_user()
    folder = theirs.folder("np-interpreter-")
    try:
        shutil.copy(sys.executable, folder / "python3")
        theirs.give(folder)
        foreign = client.put(base, json={"mode": "interpreter", "interpreter": f"{folder}/python3"})
        assert f"belongs to {theirs.name}" in error_of(foreign, 422, "invalid_input")
    finally:
        shutil.rmtree(folder)
    already = client.put(base, json={"mode": "own"})
    assert "already has an environment of its own" in error_of(already, 409, "conflict")
    packages = f"{ENV}/packages"
    no_library = client.post(packages, json={"from_node": "nope"})
    assert "nope" in error_of(no_library, 404, "not_found")
    itself = client.post(packages, json={"from_node": "clean"})
    assert "cannot be its own library node" in error_of(itself, 422, "invalid_input")
    holds_nothing = client.post(packages, json={"from_node": "load"})
    assert "holds no package" in error_of(holds_nothing, 422, "invalid_input")
    assert snapshot(chain) == before
    error_of(
        client.put(
            "/api/pipelines/baseline/nodes/nope/environment/isolation", json={"mode": "own"}
        ),
        404,
    )  # the node of the URL is still a 404


def test_a_huge_external_folder_is_refused_at_once_unless_large(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A code path, shared checkout or local path of more than 20,000 files is a 422 with
    the hint external.large, before any job; ``large: true`` accepts it."""
    usr = tmp_path / "usr"
    for index in range(20_001):
        part = usr / f"part{index // 1000}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"m{index}.py").touch()
    (usr / "pyproject.toml").write_text('[project]\nname = "usr"\nversion = "1"\n')
    before = snapshot(chain)
    refused = [
        client.post(f"{ENV}/code-paths", json={"path": str(usr)}),
        client.post(f"{ENV}/packages", json={"shared": str(usr)}),
        client.post(f"{ENV}/packages", json={"path": str(usr)}),
    ]
    node = chain.nodes.get("clean", "baseline").id
    hints = [
        {"action": "code_path.large", "params": {"folder": str(usr), "node": node}},
        *(
            {"action": "external.large", "params": {"folder": str(usr), "node": node, "source": s}}
            for s in ("shared", "path")
        ),
    ]
    for answer, hint in zip(refused, hints, strict=True):
        assert f"{usr} holds more than 20,000 files" in error_of(answer, 422, "invalid_input")
        assert answer.json()["hint"] == hint
    assert snapshot(chain) == before
    accepted = client.post(f"{ENV}/code-paths", json={"path": str(usr), "large": True})
    assert accepted.status_code == 200, accepted.text
    assert str(usr) in accepted.json()["code_paths"]


def test_a_refused_conda_package_is_the_package_s_fault_with_the_app_s_hint(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A package whose link leads outside its prefix is refused as a bad request (422
    ``refused_package``), not as a server that failed (502 ``environment``), and its hint is
    the app's: take it from a channel one trusts."""
    from support.conda_channel import conda_channel, crafted_package, index_channel

    channel = conda_channel(tmp_path, (("hello-tool", "1.0"),))
    crafted_package(channel, "evil-tool", [("bin/tool", "symlink", "/etc/passwd")])
    index_channel(channel)
    before = snapshot(chain)
    added = {"specs": ["evil-tool"], "channels": [str(channel)]}
    refused = job(client, app, "POST", f"{ENV}/conda/packages", json=added)
    assert refused["status"] == "failed"
    error = refused["error"]
    assert error["kind"] == "refused_package", error
    assert "its link 'bin/tool' leads outside the prefix" in error["message"]
    assert error["hint"] == {"action": "conda.package", "params": {"package": "evil-tool"}}
    assert snapshot(chain) == before
