"""A pulled package runs offline (issue 13, "Done means"): its node locks a real dependency
served by a real index (pypiserver); the pull into a second workspace syncs it from there into
that workspace's uv cache; with the index stopped, the same package pulled again syncs from the
warm cache and both pulled pipelines run. A third workspace, whose cache is cold, cannot pull
it then: proof that the cache, not the index, served the second pull.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import snapshot
from nodepipe import NodeState
from nodepipe.domain.errors import EnvironmentBuildError
from nodepipe.services.runs.service import RunRequest
from support.model_pipeline import states
from support.package_index import PackageIndex, offline_env
from support.wheels import build_wheel
from support.worlds import NodeSpec, build_pipeline

USES_TOYPKG = """\
import toypkg
import nodepipe_node as node
(node.data_dir() / "version.txt").write_text(toypkg.VERSION)
"""


@pytest.fixture
def private_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PackageIndex]:
    """A pypiserver of this test's own (it gets stopped) holding toypkg 1.0, the only index uv
    knows; proxies lead to a dead port, so nothing else is reachable."""
    for name, value in offline_env().items():
        monkeypatch.setenv(name, value)
    for name in ("UV_FIND_LINKS", "UV_OFFLINE", "UV_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    server = PackageIndex(tmp_path / "index").start()
    build_wheel(server.packages, "toypkg", "1.0", "VERSION = '1.0'\n")
    monkeypatch.setenv("UV_INDEX_URL", server.simple_url)
    try:
        yield server
    finally:
        server.stop()


def version_of(ws: nodepipe.Workspace, pipeline: str) -> str:
    return (ws.nodes.path("use", pipeline) / "data" / "version.txt").read_text()


def test_a_pulled_node_with_a_locked_dependency_runs_after_the_index_is_stopped(
    lab: nodepipe.Workspace, private_index: PackageIndex, tmp_path: Path
) -> None:
    build_pipeline(lab, "tool", {"use": NodeSpec(code=USES_TOYPKG)})
    lab.envs.add("use", ["toypkg==1.0"])
    lock = (lab.nodes.path("use", "tool") / "code" / "uv.lock").read_text()
    assert private_index.simple_url in lock, "the lock names the private index"
    built = lab.packages.build("tool", destination=tmp_path / "dist")

    second = nodepipe.init(tmp_path / "second")
    cache = second.context.layout.uv_cache_dir
    assert not any(cache.rglob("toypkg*")), "the second workspace's cache starts cold"
    second.packages.pull(str(built.wheel), alias="first")
    assert any(cache.rglob("toypkg*")), "the pull synced toypkg through the index"

    private_index.stop()
    second.packages.pull(str(built.wheel), alias="again")  # synced from the warm cache
    for pipeline in ("first", "again"):
        second.runs.run(RunRequest(pipeline))
        assert states(second, pipeline) == {"use": NodeState.COMPLETED}
        assert version_of(second, pipeline) == "1.0"
    second.close()

    cold = nodepipe.init(tmp_path / "cold")
    before = snapshot(cold)
    with pytest.raises(EnvironmentBuildError):
        cold.packages.pull(str(built.wheel), alias="cold")
    assert snapshot(cold) == before
    cold.close()
