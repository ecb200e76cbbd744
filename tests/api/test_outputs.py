"""A node's outputs through the API: data/ and reports/ listed with sizes, dates and kinds; one
file served whole, as a range or as a download, sandboxed; hostile paths refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import nodepipe
from api.conftest import error_of, wait_runs

WRITER = """\
import nodepipe_node as node

(node.data_dir() / "table.csv").write_text("day,t\\n1,3.5\\n2,4.0\\n")
(node.data_dir() / "deep").mkdir()
(node.data_dir() / "deep" / "values.json").write_text('{"a": [1, 2]}')
(node.reports_dir() / "chart.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
(node.reports_dir() / "report.html").write_text("<script>alert(1)</script><p>hi</p>")
"""


def _folder(chain: nodepipe.Workspace, tag: str) -> Path:
    return chain.nodes.path(tag, "baseline")


def _run_writer(client: TestClient, app: FastAPI, chain: nodepipe.Workspace) -> None:
    (_folder(chain, "load") / "code" / "main.py").write_text(WRITER)
    assert client.post("/api/pipelines/baseline/runs", json={"only": ["load"]}).status_code == 202
    wait_runs(app)


def _file(client: TestClient, path: str, **headers: str) -> object:
    return client.get(
        "/api/pipelines/baseline/nodes/load/outputs/file", params={"file": path}, headers=headers
    )


def test_a_runs_outputs_are_listed_and_served_sandboxed(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    assert client.get("/api/pipelines/baseline/nodes/load/outputs").json()["files"] == []
    _run_writer(client, app, chain)
    listed = client.get("/api/pipelines/baseline/nodes/load/outputs").json()
    files = {f["path"]: f for f in listed["files"]}
    assert set(files) == {
        "data/table.csv",
        "data/deep/values.json",
        "reports/chart.svg",
        "reports/report.html",
    }
    assert (files["data/table.csv"]["size"], files["data/table.csv"]["kind"]) == (18, "csv")
    assert [files[p]["kind"] for p in ("reports/chart.svg", "reports/report.html")] == [
        "svg",
        "html",
    ]
    assert files["data/deep/values.json"]["modified"] and not listed["truncated"]

    html = _file(client, "reports/report.html")
    assert html.status_code == 200 and b"<script>" in html.content  # type: ignore[attr-defined]
    policy = html.headers["content-security-policy"]  # type: ignore[attr-defined]
    assert "sandbox" in policy and "default-src 'none'" in policy and "allow-" not in policy
    assert html.headers["x-content-type-options"] == "nosniff"  # type: ignore[attr-defined]
    svg = _file(client, "reports/chart.svg")
    assert svg.headers["content-type"] == "image/svg+xml"  # type: ignore[attr-defined]
    assert "sandbox" in svg.headers["content-security-policy"]  # type: ignore[attr-defined]
    download = client.get(
        "/api/pipelines/baseline/nodes/load/outputs/file",
        params={"file": "data/table.csv", "download": True},
    )
    assert download.headers["content-disposition"].startswith('attachment; filename="table.csv"')
    assert download.text == "day,t\n1,3.5\n2,4.0\n"


def test_a_range_gives_a_head_and_a_tail(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    data = _folder(chain, "load") / "data"
    (data / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    head = _file(client, "data/big.bin", range="bytes=0-9")
    assert head.status_code == 206 and head.content == bytes(range(10))  # type: ignore[attr-defined]
    assert head.headers["content-range"] == "bytes 0-9/1048576"  # type: ignore[attr-defined]
    tail = _file(client, "data/big.bin", range="bytes=-4")
    assert tail.content == bytes([252, 253, 254, 255])  # type: ignore[attr-defined]
    past = _file(client, "data/big.bin", range="bytes=2000000-")
    assert past.status_code == 416  # type: ignore[attr-defined]
    whole = _file(client, "data/big.bin")
    assert whole.status_code == 200 and len(whole.content) == 1048576  # type: ignore[attr-defined]
    assert whole.headers["content-type"] == "application/octet-stream"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../code/main.py", 422),
        ("data/../code/main.py", 422),
        ("/etc/passwd", 422),
        ("code/main.py", 422),
        ("logs/latest", 422),
        ("data/./x", 422),
        ("data//x", 422),
        ("data/a\x00b", 422),
        ("data\\..\\code\\main.py", 422),
        ("data/" + "x" * 2000, 422),
        ("data/missing.csv", 404),
        ("data/.hidden", 422),
        ("data", 422),
    ],
)
def test_hostile_paths_are_refused(
    client: TestClient, chain: nodepipe.Workspace, path: str, status: int
) -> None:
    (_folder(chain, "load") / "data" / ".hidden").write_text("secret")
    error_of(_file(client, path), status)


def test_links_leading_outside_are_neither_listed_nor_served(
    client: TestClient, chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    data = _folder(chain, "load") / "data"
    (data / "inside.txt").write_text("ok")
    (data / "leak.txt").symlink_to(outside)
    (data / "leakdir").symlink_to(tmp_path)
    (data / "alias.txt").symlink_to(data / "inside.txt")
    os.mkfifo(data / "pipe")
    listed = {
        f["path"] for f in client.get("/api/pipelines/baseline/nodes/load/outputs").json()["files"]
    }
    assert listed == {"data/inside.txt", "data/alias.txt"}
    assert "outside" in error_of(_file(client, "data/leak.txt"), 422)
    error_of(_file(client, "data/leakdir/secret.txt"), 422)
    error_of(_file(client, "data/pipe"), 404)  # never blocks on a FIFO
    assert _file(client, "data/alias.txt").text == "ok"  # type: ignore[attr-defined]


def test_a_run_in_progress_shows_the_last_good_outputs(
    client: TestClient, app: FastAPI, chain: nodepipe.Workspace
) -> None:
    _run_writer(client, app, chain)
    folder = _folder(chain, "load")
    (folder / ".staging" / "half").mkdir(parents=True)
    (folder / ".staging" / "half" / "table.csv").write_text("half")
    (folder / "reports" / ".incoming-x").mkdir()
    (folder / "reports" / ".incoming-x" / "chart.svg").write_text("half")
    listed = {
        f["path"] for f in client.get("/api/pipelines/baseline/nodes/load/outputs").json()["files"]
    }
    assert "data/table.csv" in listed and not any("half" in p or ".incoming" in p for p in listed)
    assert _file(client, "data/table.csv").text.startswith("day,t")  # type: ignore[attr-defined]
    error_of(_file(client, "reports/.incoming-x/chart.svg"), 422)


def test_an_unknown_node_is_a_404(client: TestClient) -> None:
    error_of(client.get("/api/pipelines/baseline/nodes/nope/outputs"), 404, "not_found")
