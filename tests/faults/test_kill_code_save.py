"""Kill -9 while the web app saves, renames or deletes a code file: the file holds the old text
or the new one, whole, never a mix; a rename leaves the old name or the new one, never both or
none; a delete leaves the file whole or gone; the next change works and leaves nothing behind.

The server is a real ``python -m nodepipe.api`` process killed at each crash point (the save's
``code.aside``: the new text written beside the file and flushed, not yet renamed;
``code.saved``: renamed, the answer not yet sent; ``code.renaming``/``code.renamed`` and
``code.deleting``/``code.deleted``: just before and just after the one system call).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import nodepipe
from api.live import server_process
from nodepipe.workspace.crash_points import CRASH_ENV

OLD = "print('old')\n"
NEW = "print('new')\n" * 5000  # big enough that a torn write would show


def _save(url: str, headers: dict[str, str], text: str, version: str) -> httpx.Response:
    return httpx.put(
        f"{url}/api/pipelines/baseline/nodes/train/code/file",
        json={"file": "main.py", "text": text, "version": version},
        headers=headers,
        timeout=60,
    )


def _version(url: str, headers: dict[str, str]) -> str:
    answer = httpx.get(
        f"{url}/api/pipelines/baseline/nodes/train/code/file",
        params={"file": "main.py"},
        headers=headers,
        timeout=60,
    )
    answer.raise_for_status()
    version: str = answer.json()["version"]
    return version


@pytest.mark.parametrize(("point", "expected"), [("code.aside", OLD), ("code.saved", NEW)])
def test_a_killed_save_leaves_the_old_or_the_new_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str, expected: str
) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    ws.nodes.new("baseline", "train")
    code = ws.nodes.path("train") / "code"
    (code / "main.py").write_text(OLD)
    ws.close()

    monkeypatch.setenv(CRASH_ENV, point)
    with server_process(tmp_path / "lab", tmp_path / "killed.log") as live:
        headers = {"Authorization": f"Bearer {live.token}"}
        version = _version(live.url, headers)
        with pytest.raises(httpx.TransportError):  # the server died mid-request
            _save(live.url, headers, NEW, version)
    assert (code / "main.py").read_text() == expected
    leftovers = [p.name for p in code.iterdir() if p.name.endswith(".tmp")]
    assert bool(leftovers) == (point == "code.aside")  # what a power cut leaves beside it

    monkeypatch.delenv(CRASH_ENV)
    with server_process(tmp_path / "lab", tmp_path / "again.log") as live:
        headers = {"Authorization": f"Bearer {live.token}"}
        answer = _save(live.url, headers, "print('again')\n", _version(live.url, headers))
        assert answer.status_code == 200, answer.text
    assert (code / "main.py").read_text() == "print('again')\n"
    assert [p.name for p in code.iterdir() if p.name.endswith(".tmp")] == []


def _start(tmp_path: Path) -> Path:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("baseline")
    ws.nodes.new("baseline", "train")
    code = ws.nodes.path("train") / "code"
    (code / "helpers.py").write_text(NEW)
    ws.close()
    return code


def _helpers_version(url: str, headers: dict[str, str], name: str = "helpers.py") -> str:
    answer = httpx.get(
        f"{url}/api/pipelines/baseline/nodes/train/code/file",
        params={"file": name},
        headers=headers,
        timeout=60,
    )
    answer.raise_for_status()
    version: str = answer.json()["version"]
    return version


def _rename(url: str, headers: dict[str, str], name: str, to: str, version: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/pipelines/baseline/nodes/train/code/rename",
        json={"file": name, "to": to, "version": version},
        headers=headers,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("point", "where"), [("code.renaming", "helpers.py"), ("code.renamed", "lib/tools.py")]
)
def test_a_killed_rename_leaves_one_name_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str, where: str
) -> None:
    code = _start(tmp_path)
    monkeypatch.setenv(CRASH_ENV, point)
    with server_process(tmp_path / "lab", tmp_path / "killed.log") as live:
        headers = {"Authorization": f"Bearer {live.token}"}
        version = _helpers_version(live.url, headers)
        with pytest.raises(httpx.TransportError):
            _rename(live.url, headers, "helpers.py", "lib/tools.py", version)
    files = sorted(str(p.relative_to(code)) for p in code.rglob("*.py"))
    assert [f for f in files if f in ("helpers.py", "lib/tools.py")] == [where]
    assert (code / where).read_text() == NEW

    monkeypatch.delenv(CRASH_ENV)
    with server_process(tmp_path / "lab", tmp_path / "again.log") as live:
        headers = {"Authorization": f"Bearer {live.token}"}
        version = _helpers_version(live.url, headers, where)
        answer = _rename(live.url, headers, where, "final.py", version)
        assert answer.status_code == 200, answer.text
    assert (code / "final.py").read_text() == NEW
    assert not (code / "helpers.py").exists() and not (code / "lib" / "tools.py").exists()


@pytest.mark.parametrize(("point", "kept"), [("code.deleting", True), ("code.deleted", False)])
def test_a_killed_delete_leaves_the_file_whole_or_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str, kept: bool
) -> None:
    code = _start(tmp_path)
    monkeypatch.setenv(CRASH_ENV, point)
    with server_process(tmp_path / "lab", tmp_path / "killed.log") as live:
        headers = {"Authorization": f"Bearer {live.token}"}
        version = _helpers_version(live.url, headers)
        with pytest.raises(httpx.TransportError):
            httpx.delete(
                f"{live.url}/api/pipelines/baseline/nodes/train/code/file",
                params={"file": "helpers.py", "version": version},
                headers=headers,
                timeout=60,
            )
    assert (code / "helpers.py").exists() == kept
    if kept:
        assert (code / "helpers.py").read_text() == NEW
    assert (code / "main.py").is_file()
    assert [p.name for p in code.iterdir() if p.name.endswith(".tmp")] == []
