"""The driver's connect to Ray from the main thread of one process (the Python API, Jupyter):
``local`` (ray.init's word for a local Ray) starts the same local Ray as no address.

Most tests here stand a fake in for ``ray.init`` (``FakeRay``: a connect that waits until the
test lets it go on, as Ray's connect to an address where no cluster answers retries for
minutes), so nothing is connected to and no Ray is started. The one real run starts a local Ray
inside the private namespaces of ``support.ray_cluster`` (``@in_ray_namespace``).
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import nodepipe
from nodepipe.execution.ray import cluster
from nodepipe.services.runs.service import RunRequest
from support.ray_cluster import (
    NamespaceResults,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.worlds import write_main

FIRST = "10.255.0.1:6379"
"""The address the user typed first (wrong: its connect waits)."""
SECOND = "10.255.0.2:6379"
"""The address they try next."""
LOCAL_RAY = "127.0.0.1:6380"


class FakeRay:
    """``ray.init``, ``is_initialized``, ``shutdown`` and ``get_runtime_context`` of one process,
    without Ray. A connect to a held address waits until the test lets it go on; a connect that
    ends while another connection is open fails, as Ray's does (one connection a process)."""

    def __init__(self) -> None:
        self.gcs_address: str | None = None
        self.inits: list[tuple[str | None, dict[str, Any], str]] = []
        self.entered: defaultdict[str | None, threading.Event] = defaultdict(threading.Event)
        self.held: dict[str | None, threading.Event] = {}
        self.shutdowns = 0

    def hold(self, address: str) -> threading.Event:
        """A connect to ``address`` waits until the event returned is set."""
        self.held[address] = threading.Event()
        return self.held[address]

    def init(self, address: str | None = None, **kwargs: Any) -> None:
        self.inits.append((address, kwargs, threading.current_thread().name))
        self.entered[address].set()
        if address in self.held:
            self.held[address].wait()
        if self.gcs_address is not None:
            raise AssertionError("Ray: this worker is connected already")
        self.gcs_address = LOCAL_RAY if address == "local" else address

    def is_initialized(self) -> bool:
        return self.gcs_address is not None

    def shutdown(self) -> None:
        self.gcs_address = None
        self.shutdowns += 1

    def get_runtime_context(self) -> SimpleNamespace:
        return SimpleNamespace(gcs_address=self.gcs_address)


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRay]:
    """The fake in place of Ray, a fresh connection state, Ctrl-C raising KeyboardInterrupt."""
    import ray

    fake = FakeRay()
    for name in ("init", "is_initialized", "shutdown", "get_runtime_context"):
        monkeypatch.setattr(ray, name, getattr(fake, name))
    monkeypatch.setattr(cluster, "_CONNECTION", cluster._Connection())
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield fake
    for held in fake.held.values():  # no connect left waiting in its thread
        held.set()
    signal.signal(signal.SIGINT, previous)


def test_local_starts_the_same_local_ray_as_no_address(fake_ray: FakeRay) -> None:
    """``--ray-address local``: the local Ray nodepipe starts without an address (from this
    thread, on loopback), not a connect to an address."""
    assert not cluster.acquire("local")
    cluster.release()
    assert not cluster.acquire(None)
    cluster.release()

    [(local, said, thread), (none, _, _)] = [(a, k, t) for a, k, t in fake_ray.inits]
    assert local == none == "local"
    assert said["_node_ip_address"] == "127.0.0.1"
    assert thread == threading.main_thread().name


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@in_ray_namespace
def test_a_run_with_ray_address_local_runs_on_a_local_ray(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    ray_dir = Path(tempfile.mkdtemp(prefix="nprl-", dir="/tmp"))  # short: Ray's socket paths
    monkeypatch.setenv("RAY_TMPDIR", str(ray_dir))
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "only")
    folder = write_main(lab, "only", "(node.data_dir() / 'out.txt').write_text('local')\n")
    try:
        result = lab.runs.run(RunRequest("solo", executor="ray", ray_address="local"))

        assert result.finished is not None and result.finished.status == "completed"
        assert (folder / "data" / "out.txt").read_text() == "local"
        assert "Ray worker on" in (folder / "logs" / "latest.log").read_text()
        assert not ray.is_initialized()
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)
