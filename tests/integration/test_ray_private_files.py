"""A local Ray that nodepipe starts keeps its session folders from the machine's other users.

Ray's own default, ``/tmp/ray``, makes every folder of a session (its logs, its sockets)
writable by everyone and not sticky: another OS user (``support.other_user``) could read the
logs and remove or replace the raylet's socket. The run here starts a local Ray in the private
namespaces of ``support.ray_cluster`` (``@in_ray_namespace``; ``/tmp`` is the machine's).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import nodepipe
from nodepipe.services.runs.service import RunRequest
from support.other_user import OtherUser
from support.ray_cluster import (
    NamespaceResults,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.worlds import write_main


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


def sessions_since(started: float) -> list[Path]:
    """The Ray session folders this process started under /tmp since ``started`` (in Ray's
    own place, or in any other folder there; Ray ends their names with the pid of the process
    that started the cluster)."""
    name = f"session_2*_{os.getpid()}"
    found = [*Path("/tmp").glob(f"*/{name}"), *Path("/tmp").glob(f"*/*/{name}")]
    return [path for path in found if path.is_dir() and path.lstat().st_ctime >= started]


@in_ray_namespace
def test_another_user_can_neither_read_nor_change_a_local_rays_session(
    lab: nodepipe.Workspace, other: OtherUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.delenv("TMPDIR", raising=False)
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "only")
    folder = write_main(lab, "only", "(node.data_dir() / 'out.txt').write_text('local')\n")
    started = time.time() - 1

    result = lab.runs.run(RunRequest("solo", executor="ray", ray_address="local"))

    assert result.finished is not None and result.finished.status == "completed"
    assert (folder / "data" / "out.txt").read_text() == "local"
    (session,) = sessions_since(started)
    for inside in (session, session / "logs", session / "sockets"):
        assert inside.is_dir()
        assert other.run("ls", str(inside)).returncode != 0, inside
        assert other.run("touch", str(inside / "planted")).returncode != 0, inside
    assert other.run("rm", "-f", str(session / "sockets" / "raylet")).returncode != 0
