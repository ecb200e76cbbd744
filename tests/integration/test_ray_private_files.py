"""A local Ray that nodepipe starts keeps its session folders from the machine's other users.

Ray's own default, ``/tmp/ray``, makes every folder of a session (its logs, its sockets)
writable by everyone and not sticky: another OS user (``support.other_user``) could read the
logs and remove or replace the raylet's socket. The run here starts a local Ray in the private
namespaces of ``support.ray_cluster`` (``@in_ray_namespace``; ``/tmp`` is the machine's).

The node names its Ray session itself (``SESSION_OF_MY_WORKER``), wherever Ray or nodepipe put
it: no scan of ``/tmp``, whose folders the other tests make and remove meanwhile (a scan there
met one as it went: FileNotFoundError), and no guess from a pid (every namespace's pytest is
pid 3).
"""

from __future__ import annotations

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


SESSION_OF_MY_WORKER = """
import os
from pathlib import Path
# The Ray worker running this node (an ancestor of its process) writes its stdout to
# <session>/logs/worker-<worker id>-<job id>-<pid>.out, as Ray's logging layout says.
pid = os.getppid()
while pid > 1:
    out = Path(os.readlink(f"/proc/{pid}/fd/1"))
    if out.parent.name == "logs" and out.name.startswith("worker-"):
        break
    pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
else:
    raise SystemExit("no Ray worker among the node's ancestors")
(node.data_dir() / "session").write_text(str(out.parent.parent))
"""


@in_ray_namespace
def test_another_user_can_neither_read_nor_change_a_local_rays_session(
    lab: nodepipe.Workspace, other: OtherUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.delenv("TMPDIR", raising=False)
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "only")
    folder = write_main(lab, "only", SESSION_OF_MY_WORKER)

    result = lab.runs.run(RunRequest("solo", executor="ray", ray_address="local"))

    assert result.finished is not None and result.finished.status == "completed"
    session = Path((folder / "data" / "session").read_text())
    assert session.name.startswith("session_"), session
    for inside in (session, session / "logs", session / "sockets"):
        assert inside.is_dir()
        assert other.run("ls", str(inside)).returncode != 0, inside
        assert other.run("touch", str(inside / "planted")).returncode != 0, inside
    assert other.run("rm", "-f", str(session / "sockets" / "raylet")).returncode != 0
