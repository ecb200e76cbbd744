"""The token of a local Ray that nodepipe starts is readable by its user alone.

Ray (2.52 and later) turns token authentication on for a new local cluster and, when it finds
no token, writes one to ``~/.ray/auth_token`` with the process's umask: in a home others may
enter (0755, the default of many systems), any other user of the machine could read it and run
code on the cluster as its user (its ports listen on every interface). Its own module: Ray
reads the token once per process. The cluster starts in the private namespaces of
``support.ray_cluster`` (``@in_ray_namespace``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nodepipe.execution.ray import cluster
from support.other_user import OtherUser
from support.ray_cluster import (
    NamespaceResults,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@in_ray_namespace
def test_the_token_a_local_ray_makes_is_not_readable_by_another_user(
    open_area: Path, other: OtherUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = open_area / "home"
    home.mkdir(mode=0o755)
    monkeypatch.setenv("HOME", str(home))
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)

    cluster.acquire("local")
    cluster.release()

    token = home / ".ray" / "auth_token"
    assert len(token.read_text().strip()) >= 32
    read = other.run("cat", str(token))
    assert read.returncode != 0 and token.read_text().strip() not in read.stdout
