"""Kill -9 while an edge edit's rows and their change journal rows are written: a web app that
answered the pipeline before answers it after as a whole build does, the edge absent (the
journal's rows are written by the database's triggers in the edit's own transaction, so they
are committed with the edit or not at all), and once the edit is done again, present."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import httpx
import pytest

import nodepipe
from api.live import server_thread
from faults.test_kill_edges import edit, template  # noqa: F401  (the fixture)
from nodepipe.schemas.graph import PipelineGraph
from support.waiting import wait_for


def whole(ws: nodepipe.Workspace) -> dict[str, object]:
    answer: dict[str, object] = json.loads(
        PipelineGraph.model_validate(ws.pipelines.show("base")).model_dump_json()
    )
    return answer


@pytest.mark.parametrize(
    ("command", "point"),
    [(["connect", "d", "b"], "edges.inserted"), (["disconnect", "a", "b"], "edges.marked")],
)
def test_a_killed_edge_edit_leaves_no_stale_answer(
    template: Path,  # noqa: F811
    tmp_path: Path,
    command: list[str],
    point: str,
) -> None:
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    ws = nodepipe.open(root)
    try:
        with server_thread(ws) as server:
            wait_for(lambda: ws.context.folder_memo.armed, "the node folders' watcher to watch")

            def answer() -> dict[str, object]:
                got = httpx.get(
                    f"{server.url}/api/pipelines/base", headers=server.headers, timeout=60
                )
                assert got.status_code == 200, got.text
                found: dict[str, object] = got.json()
                return found

            before = answer()
            killed = edit(root, command, point)
            assert killed.returncode == -signal.SIGKILL, killed.stderr
            assert answer() == before == whole(ws)  # the edge as it was
            done = edit(root, command, None)
            assert done.returncode == 0, done.stderr
            after = answer()
            assert after != before and after == whole(ws)
    finally:
        ws.close()
