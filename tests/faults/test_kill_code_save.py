"""Kill -9 while the web app saves a code file: the file holds the old text or the new one,
whole, never a mix; the next save works and leaves no write-aside copy behind.

The server is a real ``python -m nodepipe.api`` process killed at each crash point of the save
(``code.aside``: the new text written beside the file and flushed, not yet renamed;
``code.saved``: renamed, the answer not yet sent).
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
