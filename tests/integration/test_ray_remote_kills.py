"""Ray workers without a shared filesystem, killed or fed damaged contents mid-way.

The orchestrator SIGKILLed at the crash points of ``execution.remote_task`` (``remote.shipping``:
a node's parents' outputs in the storage, its code not yet; ``remote.downloaded``: a completed
node's outputs downloaded into its staging folder, not yet promoted), a worker SIGKILLed while
it uploads a node's outputs, and a parent's content damaged in the storage before a child's
worker downloads it. Each time: what the recovered run says, the previous outputs intact, the
storage naming nothing half-written, and the next run completing.

The cluster is as in ``test_ray_remote.py``: a head without CPUs and one worker node that cannot
see the tests' temporary folder, inside private namespaces (``support.ray_cluster``); the
storage is a folder both sides see.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

import nodepipe
from integration.test_ray_remote import WORKER_CPUS, killed_at, pair, run_remote
from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.workspace.crash_points import CRASH_ENV
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import download_outputs
from support.ray_cluster import (
    NamespaceResults,
    RayCluster,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.worlds import node_runs, write_main

NEW_TABLE = "x,y\\n3,4\\n"
"""p's table once its code is edited (as Python source)."""


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A folder the worker sees too (the storage, the worker's scratch folder)."""
    folder = Path(tempfile.mkdtemp(prefix="nprk-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory, outside: Path) -> Iterator[RayCluster]:
    """A head without CPUs, and a worker that cannot see the tests' temporary folder."""
    with RayCluster(num_cpus=0) as cluster:
        cluster.add_worker(
            WORKER_CPUS,
            hide=tmp_path_factory.getbasetemp(),
            resources={"remote": WORKER_CPUS},
            env={"NODEPIPE_WORKER_DIR": str(outside / "worker")},
        )
        yield cluster


def completed_pair(lab: nodepipe.Workspace, cluster: RayCluster, bucket: Path) -> Path:
    """``pair`` run once remotely (p's table ``1,2``); q's folder."""
    q = pair(lab)
    first = run_remote(lab, cluster, bucket, "pair")
    assert first.finished is not None and first.finished.status == "completed"
    return q


def edit_p(ws: nodepipe.Workspace, *extra: str) -> None:
    """p writes the new table (and ``extra`` files, each holding its own name)."""
    lines = [f"(node.data_dir() / 'table.csv').write_text('{NEW_TABLE}')"]
    lines += [f"(node.data_dir() / '{name}').write_text('{name}')" for name in extra]
    write_main(ws, "p", "\n".join(lines) + "\n")


def new_table_digest(tmp_path: Path) -> str:
    """The output digest of p's new outputs (computed here, not asked of nodepipe)."""
    folder = tmp_path / "expected"
    folder.mkdir()
    (folder / "table.csv").write_text("x,y\n3,4\n")
    return fingerprint_outputs(folder)


def assert_whole(storage: Storage) -> None:
    """Every content in place hashes to its name (read checks it)."""
    for content in storage.digests():
        storage.read(content)


def assert_untouched(folder: Path, name: str, text: str) -> None:
    assert (folder / "data" / name).read_text() == text
    assert not list((folder / ".staging").glob("*")), list((folder / ".staging").iterdir())


def killed_run(ws: nodepipe.Workspace) -> tuple[RunStatus, dict[str, NodeRunState]]:
    with ws.context.store.read() as session:
        (run, _) = session.list_runs(limit=2)
    return run.status, {tag: nr.state for tag, nr in node_runs(ws, run.id).items()}


@in_ray_namespace
def test_an_orchestrator_killed_while_shipping_a_node_gives_it_back(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """SIGKILLed while shipping p (``remote.shipping``: its edited code not in the storage
    yet): the run is interrupted, p and q never started (given back: no log, no node run
    failed), their outputs as they were, the storage holds just what it held (nothing of the
    cut shipping to trust), and the next run runs the edited p and q."""
    bucket = outside / "bucket-shipping-p"
    q = completed_pair(lab, ray_cluster, bucket)
    storage = Storage.open(str(bucket))
    before = set(storage.digests())
    edit_p(lab)
    lab.close()

    ws = killed_at(lab, ray_cluster, bucket, "remote.shipping@1")
    try:
        status, states = killed_run(ws)
        assert status is RunStatus.INTERRUPTED
        assert states == {"p": NodeRunState.SKIPPED, "q": NodeRunState.SKIPPED}
        assert_untouched(ws.nodes.path("p"), "table.csv", "x,y\n1,2\n")
        assert_untouched(q, "copy.csv", "x,y\n1,2\n")
        assert set(storage.digests()) == before and storage.incoming() == []
        assert_whole(storage)

        again = run_remote(ws, ray_cluster, bucket, "pair")

        assert again.finished is not None and again.run_id is not None
        assert again.finished.status == "completed", node_runs(ws, again.run_id)
        assert set(node_runs(ws, again.run_id)) == {"p", "q"}
        assert (q / "data" / "copy.csv").read_text() == "x,y\n3,4\n"
    finally:
        ws.close()


@in_ray_namespace
def test_an_orchestrator_killed_while_shipping_a_child_keeps_its_parents_outputs(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path, tmp_path: Path
) -> None:
    """SIGKILLed while shipping q (``remote.shipping@2``), once the edited p ran remotely and
    its outputs came home: p completed with its new outputs (which the storage holds whole),
    q never started and keeps its old copy; the next run runs q alone, on p's new table."""
    bucket = outside / "bucket-shipping-q"
    q = completed_pair(lab, ray_cluster, bucket)
    edit_p(lab)
    lab.close()

    ws = killed_at(lab, ray_cluster, bucket, "remote.shipping@2")
    try:
        status, states = killed_run(ws)
        assert status is RunStatus.INTERRUPTED
        assert states == {"p": NodeRunState.COMPLETED, "q": NodeRunState.SKIPPED}
        assert_untouched(ws.nodes.path("p"), "table.csv", "x,y\n3,4\n")
        assert_untouched(q, "copy.csv", "x,y\n1,2\n")
        storage = Storage.open(str(bucket))
        assert storage.incoming() == []
        assert_whole(storage)
        download_outputs(storage, new_table_digest(tmp_path), tmp_path / "p-outputs")
        assert (tmp_path / "p-outputs" / "table.csv").read_text() == "x,y\n3,4\n"

        again = run_remote(ws, ray_cluster, bucket, "pair")

        assert again.finished is not None and again.run_id is not None
        assert again.finished.status == "completed", node_runs(ws, again.run_id)
        assert set(node_runs(ws, again.run_id)) == {"q"}
        assert (q / "data" / "copy.csv").read_text() == "x,y\n3,4\n"
    finally:
        ws.close()


@in_ray_namespace
def test_an_orchestrator_killed_before_promoting_downloaded_outputs_keeps_the_old_ones(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path, tmp_path: Path
) -> None:
    """SIGKILLed once p's new outputs are downloaded into its staging folder, before they
    replace data/ (``remote.downloaded``): p's run is interrupted (failed: it did run), its
    data/ holds the old table and no staging folder is left; q never started; the storage
    holds p's new outputs whole (a worker uploaded them), and the next run completes."""
    bucket = outside / "bucket-downloaded"
    q = completed_pair(lab, ray_cluster, bucket)
    edit_p(lab)
    lab.close()

    ws = killed_at(lab, ray_cluster, bucket, "remote.downloaded@1")
    try:
        status, states = killed_run(ws)
        assert status is RunStatus.INTERRUPTED
        assert states == {"p": NodeRunState.FAILED, "q": NodeRunState.SKIPPED}
        p = ws.nodes.path("p")
        assert_untouched(p, "table.csv", "x,y\n1,2\n")
        assert_untouched(q, "copy.csv", "x,y\n1,2\n")
        assert ws.nodes.get("p", "pair").state is nodepipe.NodeState.FAILED
        storage = Storage.open(str(bucket))
        assert storage.incoming() == []
        assert_whole(storage)
        download_outputs(storage, new_table_digest(tmp_path), tmp_path / "p-outputs")
        assert (tmp_path / "p-outputs" / "table.csv").read_text() == "x,y\n3,4\n"

        again = run_remote(ws, ray_cluster, bucket, "pair")

        assert again.finished is not None and again.run_id is not None
        assert again.finished.status == "completed", node_runs(ws, again.run_id)
        assert (p / "data" / "table.csv").read_text() == "x,y\n3,4\n"
        assert (q / "data" / "copy.csv").read_text() == "x,y\n3,4\n"
    finally:
        ws.close()


@in_ray_namespace
def test_a_worker_killed_while_uploading_outputs_fails_the_node_with_nothing_named(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path, tmp_path: Path
) -> None:
    """p's worker SIGKILLed while it uploads p's new outputs (``storage.uploaded@2``: one file
    in place, the second whole in ``incoming/``, the manifest not sent): p fails saying its
    worker died, q is skipped, both keep their outputs; the storage holds no manifest of the
    new outputs, so nobody can ask for them half; the next run completes."""
    bucket = outside / "bucket-worker-killed"
    q = completed_pair(lab, ray_cluster, bucket)
    edit_p(lab, "extra.txt")
    expected = tmp_path / "expected"
    expected.mkdir()
    (expected / "table.csv").write_text("x,y\n3,4\n")
    (expected / "extra.txt").write_text("extra.txt")
    digest = fingerprint_outputs(expected)
    # Only the tasks of this connection's job die there: the variable is in their runtime env.
    ray.init(
        address=ray_cluster.address,
        log_to_driver=False,
        include_dashboard=False,
        runtime_env={"env_vars": {CRASH_ENV: "storage.uploaded@2"}},
    )
    try:
        killed = run_remote(lab, ray_cluster, bucket, "pair")
    finally:
        ray.shutdown()

    assert killed.finished is not None and killed.run_id is not None
    assert killed.finished.status == "failed"
    runs = node_runs(lab, killed.run_id)
    assert runs["p"].state is NodeRunState.FAILED
    assert runs["p"].message.startswith("the Ray worker running the node died"), runs["p"].message
    assert runs["q"].state is NodeRunState.SKIPPED
    p = lab.nodes.path("p")
    assert_untouched(p, "table.csv", "x,y\n1,2\n")
    assert_untouched(q, "copy.csv", "x,y\n1,2\n")
    storage = Storage.open(str(bucket))
    assert not storage.has(digest)
    assert len(storage.incoming()) == 1  # the cut upload, for doctor --storage --collect
    assert_whole(storage)

    again = run_remote(lab, ray_cluster, bucket, "pair")

    assert again.finished is not None and again.run_id is not None
    assert again.finished.status == "completed", node_runs(lab, again.run_id)
    assert (q / "data" / "copy.csv").read_text() == "x,y\n3,4\n"
    assert storage.has(digest)
    assert not (outside / "worker" / "runs" / runs["p"].id).exists()  # swept by the next task


def edit_q(ws: nodepipe.Workspace, mark: str) -> None:
    """q copies p's table and adds ``mark`` (so that q alone is stale)."""
    source = "(node.parent('01').data_dir / 'table.csv').read_text()"
    write_main(ws, "q", f"(node.data_dir() / 'copy.csv').write_text({source} + {mark!r})\n")


@in_ray_namespace
def test_a_parents_content_damaged_before_the_child_fetches_it_is_refused(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """p's table in the storage truncated, then replaced by other bytes of its size, while
    only q is to run: the truncated one is sent again from the workspace when q is shipped
    (its size is wrong), so q runs on the right table; the replaced one is refused by digest
    when q's worker fetches it, and q fails naming its parent and the content, keeping its
    outputs, p untouched. Running q again sends the workspace's copy and it completes."""
    bucket = outside / "bucket-parent-damaged"
    q = completed_pair(lab, ray_cluster, bucket)
    storage = Storage.open(str(bucket))
    table = next(d for d in storage.digests() if storage.read(d) == b"x,y\n1,2\n")
    path = Path(storage.object_path(table))
    path.chmod(0o644)
    path.write_bytes(b"x,y\n1,")
    edit_q(lab, "v2")

    repaired = run_remote(lab, ray_cluster, bucket, "pair")

    assert repaired.finished is not None and repaired.run_id is not None
    assert repaired.finished.status == "completed", node_runs(lab, repaired.run_id)
    assert set(node_runs(lab, repaired.run_id)) == {"q"}
    assert (q / "data" / "copy.csv").read_text() == "x,y\n1,2\nv2"
    assert storage.read(table) == b"x,y\n1,2\n"

    path.chmod(0o644)
    path.write_bytes(b"x,y\n6,6\n")
    edit_q(lab, "v3")

    refused = run_remote(lab, ray_cluster, bucket, "pair")

    assert refused.finished is not None and refused.run_id is not None
    assert refused.finished.status == "failed"
    runs = node_runs(lab, refused.run_id)
    assert set(runs) == {"q"} and runs["q"].state is NodeRunState.FAILED
    message = runs["q"].message
    assert "parent 01 (p)" in message and "damaged" in message and table[:12] in message, message
    assert "run this node again" in message, message
    assert_untouched(q, "copy.csv", "x,y\n1,2\nv2")
    assert (lab.nodes.path("p") / "data" / "table.csv").read_text() == "x,y\n1,2\n"

    again = run_remote(lab, ray_cluster, bucket, "pair")

    assert again.finished is not None and again.run_id is not None
    assert again.finished.status == "completed", node_runs(lab, again.run_id)
    assert (q / "data" / "copy.csv").read_text() == "x,y\n1,2\nv3"
    assert storage.read(table) == b"x,y\n1,2\n" and storage.refused() == set()
