"""A node's code files through the API: listed (never .venv or caches), read with a version,
saved only over that version, atomically, inside code/, and not on read-only nodes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, wait_runs

CODE = "/api/pipelines/baseline/nodes/load/code"


def _read(client: TestClient, path: str, node: str = "load") -> dict[str, Any]:
    answer = client.get(f"/api/pipelines/baseline/nodes/{node}/code/file", params={"file": path})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _save(client: TestClient, path: str, text: str, version: str | None, **more: Any) -> Any:
    body = {"file": path, "text": text, "version": version, **more}
    return client.put(f"{CODE}/file", json=body)


def _code(chain: nodepipe.Workspace, tag: str = "load") -> Path:
    return chain.nodes.path(tag, "baseline") / "code"


def _state(client: TestClient, tag: str) -> tuple[str, str]:
    nodes = client.get("/api/pipelines/baseline").json()["nodes"]
    node = next(n for n in nodes if n["tag"] == tag)
    return node["state"], node["state_reason"]


def test_code_files_are_listed_without_environment_or_caches(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    code = _code(chain)
    (code / "__pycache__").mkdir(exist_ok=True)
    (code / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (code / "helpers").mkdir()
    (code / "helpers" / "io.py").write_text("X = 1\n")
    listed = {f["path"]: f for f in client.get(CODE).json()["files"]}
    assert {"main.py", "params.yaml", "pyproject.toml", "uv.lock", "helpers/io.py"} <= set(listed)
    assert not any(p.startswith((".venv", "__pycache__")) for p in listed)
    assert listed["main.py"]["kind"] == "text" and listed["helpers/io.py"]["size"] == 6


def test_a_save_over_the_version_read_makes_the_node_stale(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    assert client.post("/api/pipelines/baseline/runs", json={"only": ["load"]}).status_code == 202
    wait_runs(app)
    assert _state(client, "load")[0] == "completed"
    read = _read(client, "main.py")
    on_disk = (_code(chain) / "main.py").read_bytes()
    assert read["text"] == on_disk.decode() and read["editable"]
    assert read["version"] == hashlib.sha256(on_disk).hexdigest()
    saved = _save(client, "main.py", read["text"] + "print('edited')\n", read["version"])
    assert saved.status_code == 200, saved.text
    assert (_code(chain) / "main.py").read_text().endswith("print('edited')\n")
    assert saved.json()["version"] != read["version"]
    state, reason = _state(client, "load")
    assert state == "stale" and "main.py" in reason
    assert not [p for p in _code(chain).iterdir() if p.name.endswith(".tmp")]


def test_a_file_changed_on_disk_is_not_overwritten_silently(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    read = _read(client, "main.py")
    (_code(chain) / "main.py").write_text("print('from my editor')\n")
    refused = _save(client, "main.py", "print('from the app')\n", read["version"])
    assert "changed on disk since you opened it" in error_of(refused, 409, "changed_on_disk")
    assert (_code(chain) / "main.py").read_text() == "print('from my editor')\n"
    forced = _save(client, "main.py", "print('from the app')\n", read["version"], overwrite=True)
    assert forced.status_code == 200
    assert (_code(chain) / "main.py").read_text() == "print('from the app')\n"


_SECOND_WRITER = """
import sys
from pathlib import Path
from nodepipe.workspace.folder_locks import held_folders

code, name, text = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
with held_folders([code]):  # as an environment edit (env add, env import...) holds it
    print("held", flush=True)
    sys.stdin.readline()
    (code / name).write_text(text)
"""


@pytest.mark.parametrize("name", ["main.py", "params.yaml"])
def test_a_change_landing_between_check_and_write_is_never_overwritten(
    client: TestClient, chain: nodepipe.Workspace, name: str
) -> None:
    read = _read(client, name)
    theirs = "print('theirs')\n" if name == "main.py" else "lr: 0.75\n"
    writer = subprocess.Popen(
        [sys.executable, "-c", _SECOND_WRITER, str(_code(chain)), name, theirs],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "held\n"
        answers: list[Any] = []
        mine = "print('mine')\n" if name == "main.py" else "lr: 0.25\n"
        saving = threading.Thread(
            target=lambda: answers.append(_save(client, name, mine, read["version"]))
        )
        saving.start()  # the file is still at the version read while the writer holds it
        time.sleep(1.0)
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.close()
        assert writer.wait(timeout=60) == 0
        saving.join(timeout=60)
    finally:
        writer.kill()
        writer.wait()
    assert "changed" in error_of(answers[0], 409, "changed_on_disk")
    assert (_code(chain) / name).read_text() == theirs
    assert not [p for p in _code(chain).iterdir() if p.name.endswith(".tmp")]


def test_new_files_and_folders_are_made_but_never_replace_one_silently(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    assert _save(client, "lib/tools.py", "def f():\n    return 1\n", None).status_code == 200
    assert (_code(chain) / "lib" / "tools.py").read_text() == "def f():\n    return 1\n"
    error_of(_save(client, "lib/tools.py", "other\n", None), 409, "changed_on_disk")


def test_a_new_files_name_is_checked_before_its_text_is_written(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    """What saving a new file would refuse is said when its name is typed; nothing is made."""
    (_code(chain) / "lib").mkdir()
    (_code(chain) / "lib" / "io.py").write_text("x = 1\n")
    before = sorted(p.relative_to(_code(chain)) for p in _code(chain).rglob("*"))

    def check(path: str) -> Any:
        return client.get(f"{CODE}/name-check", params={"file": path})

    assert check("lib/tools.py").status_code == 204
    assert check("new/deeper/tools.py").status_code == 204
    assert "lib/io.py already exists" in error_of(check("lib/io.py"), 409, "changed_on_disk")
    assert "main.py already exists" in error_of(check("main.py"), 409)
    assert "is a folder" in error_of(check("lib"), 409, "conflict")
    stands = error_of(check("main.py/x.py"), 409, "conflict")
    assert "a file stands where a folder would be" in stands
    assert "Environment" in error_of(check("uv.lock"), 422, "invalid_input")
    refused = check("../x.py")
    error_of(refused, 422)
    assert [d["loc"] for d in refused.json()["details"]] == [["query", "file"]]
    client.patch("/api/pipelines/baseline/nodes/load", json={"locked": True})
    locked = check("lib/tools.py")
    error_of(locked, 409, "read_only")
    assert locked.json()["hint"]["action"] == "node.unlock"
    assert sorted(p.relative_to(_code(chain)) for p in _code(chain).rglob("*")) == before


def test_params_yaml_follows_the_parameters_rules(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    read = _read(client, "params.yaml")
    params_file = _code(chain) / "params.yaml"
    before = params_file.read_text()
    error_of(_save(client, "params.yaml", "lr: [unclosed\n", read["version"]), 422)
    error_of(_save(client, "params.yaml", "- a list\n", read["version"]), 422)
    assert params_file.read_text() == before
    text = "# tuned by hand\nlr: 0.5\n"
    assert _save(client, "params.yaml", text, read["version"]).status_code == 200
    assert params_file.read_text() == text  # kept as typed, comment too
    detail = client.get("/api/pipelines/baseline/nodes/load").json()
    assert detail["params"]["params"] == {"lr": 0.5} and detail["params_text"] == text


def test_malformed_pyproject_and_the_lock_are_refused(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    before = (_code(chain) / "pyproject.toml").read_bytes()
    read = _read(client, "pyproject.toml")
    error_of(_save(client, "pyproject.toml", "[project\n", read["version"]), 422, "invalid_input")
    assert (_code(chain) / "pyproject.toml").read_bytes() == before
    lock = _read(client, "uv.lock")
    assert not lock["editable"]
    message = error_of(_save(client, "uv.lock", "x", lock["version"]), 422)
    assert "Environment" in message


def test_read_only_nodes_refuse_saves_naming_what_lifts_it(
    client: TestClient, chain: nodepipe.Workspace
) -> None:
    read = _read(client, "main.py")
    client.patch("/api/pipelines/baseline/nodes/load", json={"locked": True})
    refused = _save(client, "main.py", "print('x')\n", read["version"])
    error_of(refused, 409, "read_only")
    assert refused.json()["hint"]["action"] == "node.unlock"
    client.post("/api/pipelines", json={"tag": "other"})
    client.post("/api/pipelines/baseline/references", json={"nodes": ["clean"], "into": "other"})
    clean = _read(client, "main.py", node="clean")
    as_reference = client.put(
        "/api/pipelines/other/nodes/clean/code/file",
        json={"file": "main.py", "text": "x = 1\n", "version": clean["version"]},
    )
    error_of(as_reference, 409, "read_only")
    assert as_reference.json()["hint"]["action"] == "node.detach"
    assert (_code(chain) / "main.py").read_text() == read["text"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../data/x.py", 422),
        ("/etc/passwd", 422),
        (".venv/bin/python", 422),
        ("__pycache__/x.pyc", 404),
        ("a\x00.py", 422),
        ("out/x.py", 422),
        ("é" * 200 + ".py", 422),  # 403 bytes: more than a file system takes, not a 500
    ],
)
def test_hostile_paths_write_nothing(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path, path: str, status: int
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (_code(chain) / "out").symlink_to(outside)
    error_of(_save(client, path, "print('pwned')\n", None), status)
    error_of(client.get(f"{CODE}/name-check", params={"file": path}), status)
    assert list(outside.iterdir()) == []
    error_of(
        client.get(f"{CODE}/file", params={"file": path}),
        404 if status == 404 else 422,
    )


def test_a_link_is_not_replaced_and_binary_or_huge_files_are_not_opened(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    code = _code(chain)
    (code / "alias.py").symlink_to(code / "main.py")
    error_of(_save(client, "alias.py", "x\n", None, overwrite=True), 422)
    assert (code / "alias.py").is_symlink()
    (code / "blob.bin").write_bytes(b"\xff\xfe\x00")
    assert "not a text file" in error_of(
        client.get(f"{CODE}/file", params={"file": "blob.bin"}), 422
    )
    (code / "big.txt").write_bytes(b"x" * (2 * 1024 * 1024))
    assert "too large" in error_of(client.get(f"{CODE}/file", params={"file": "big.txt"}), 422)


def _rename(client: TestClient, path: str, to: str, version: str) -> Any:
    return client.post(f"{CODE}/rename", json={"file": path, "to": to, "version": version})


def _delete(client: TestClient, path: str, version: str) -> Any:
    return client.delete(f"{CODE}/file", params={"file": path, "version": version})


def test_a_file_is_renamed_and_deleted_over_the_version_read_and_the_node_goes_stale(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    code = _code(chain)
    (code / "helpers.py").write_text("X = 1\n")
    assert client.post("/api/pipelines/baseline/runs", json={"only": ["load"]}).status_code == 202
    wait_runs(app)
    assert _state(client, "load")[0] == "completed"

    version = _read(client, "helpers.py")["version"]
    renamed = _rename(client, "helpers.py", "lib/tools.py", version)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["path"] == "lib/tools.py" and renamed.json()["version"] == version
    assert not (code / "helpers.py").exists()
    assert (code / "lib" / "tools.py").read_text() == "X = 1\n"
    assert _state(client, "load")[0] == "stale"

    (code / "lib" / "tools.py").write_text("X = 2\n")  # changed on disk since it was read
    moved = _rename(client, "lib/tools.py", "tools.py", version)
    assert "changed on disk" in error_of(moved, 409, "changed_on_disk")
    refused = _delete(client, "lib/tools.py", version)
    assert "changed on disk" in error_of(refused, 409, "changed_on_disk")
    assert (code / "lib" / "tools.py").read_text() == "X = 2\n"

    deleted = _delete(client, "lib/tools.py", _read(client, "lib/tools.py")["version"])
    assert deleted.status_code == 204, deleted.text
    assert not (code / "lib" / "tools.py").exists()
    listed = {f["path"] for f in client.get(CODE).json()["files"]}
    assert "lib/tools.py" not in listed and "main.py" in listed


def test_a_rename_never_replaces_a_file(client: TestClient, chain: nodepipe.Workspace) -> None:
    code = _code(chain)
    (code / "a.py").write_text("A\n")
    (code / "b.py").write_text("B\n")
    taken = _rename(client, "a.py", "b.py", _read(client, "a.py")["version"])
    assert "already exists" in error_of(taken, 409, "changed_on_disk")
    assert (code / "a.py").read_text() == "A\n" and (code / "b.py").read_text() == "B\n"


@pytest.mark.parametrize("kept", ["main.py", "params.yaml", "pyproject.toml", "uv.lock"])
def test_what_the_node_needs_is_neither_renamed_nor_deleted_nor_replaced(
    client: TestClient, chain: nodepipe.Workspace, kept: str
) -> None:
    code = _code(chain)
    before = (code / kept).read_bytes()
    version = hashlib.sha256(before).hexdigest()
    message = error_of(_delete(client, kept, version), 422)
    assert "cannot be renamed or deleted" in message
    error_of(_rename(client, kept, "other.py", version), 422)
    (code / "spare.py").write_text("S\n")
    error_of(_rename(client, "spare.py", kept, _read(client, "spare.py")["version"]), 422)
    assert (code / kept).read_bytes() == before and (code / "spare.py").exists()


@pytest.mark.parametrize(
    ("to", "status"),
    [
        ("../outside.py", 422),
        ("/etc/x.py", 422),
        (".hidden.py", 422),
        ("lib/.venv/x.py", 422),
        ("__pycache__/x.py", 422),
        ("out/x.py", 422),
        ("a\x00.py", 422),
    ],
)
def test_a_rename_stays_inside_code_and_out_of_hidden_and_cache_names(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path, to: str, status: int
) -> None:
    code = _code(chain)
    outside = tmp_path / "outside"
    outside.mkdir()
    (code / "out").symlink_to(outside)
    (code / "mine.py").write_text("M\n")
    error_of(_rename(client, "mine.py", to, _read(client, "mine.py")["version"]), status)
    assert (code / "mine.py").read_text() == "M\n"
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "outside.py").exists()
