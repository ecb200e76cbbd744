"""Ray workers without a shared filesystem: code, locks and outputs travel through a storage.

Inside private namespaces (``support.ray_cluster``) a head node with no CPUs and one worker
node run on loopback; the worker starts in a mount namespace with an empty tmpfs over the
tests' temporary folder, so the workspace path does not exist there, and it is the only node
with CPUs (and the custom resource ``remote``), so every node task lands on it. The storage is a
folder both sides see, standing for a bucket (the S3 path of the storage is tested in
``test_storage.py``).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import nodepipe
from nodepipe.domain.runs import NodeRunState, RunStatus
from nodepipe.services.runs.service import RunRequest, RunResult, RunService
from nodepipe.workspace.crash_points import CRASH_ENV
from nodepipe.workspace.storage import Storage
from support.conda_channel import conda_channel
from support.ray_cluster import (
    NamespaceResults,
    RayCluster,
    in_ray_namespace,
    session_directory,
    shared_namespace_results,
)
from support.s3_server import S3Server
from support.waiting import wait_for
from support.worlds import node_runs, write_main

WORKER_CPUS = 2


@pytest.fixture(scope="module")
def ray_namespace_results(tmp_path_factory: pytest.TempPathFactory) -> NamespaceResults:
    """Outside the namespace: the inner session's results (run once per session)."""
    return shared_namespace_results(
        Path(__file__), session_directory(tmp_path_factory.getbasetemp())
    )


@pytest.fixture(scope="module")
def outside() -> Path:
    """A folder the worker sees too (the storage, the worker's scratch folder)."""
    return Path(tempfile.mkdtemp(prefix="nprs-", dir="/tmp"))


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 on loopback; its endpoint and credentials in this process's environment (the
    worker gets them too), the usual places s3fs reads them from."""
    with S3Server() as server:
        previous = {key: os.environ.get(key) for key in server.environment}
        os.environ.update(server.environment)
        try:
            yield server
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture(scope="module")
def ray_cluster(
    tmp_path_factory: pytest.TempPathFactory, outside: Path, s3_server: S3Server
) -> Iterator[RayCluster]:
    """A head without CPUs, and a worker that cannot see the tests' temporary folder."""
    hidden = tmp_path_factory.getbasetemp()
    with RayCluster(num_cpus=0) as cluster:
        cluster.add_worker(
            WORKER_CPUS,
            hide=hidden,
            resources={"remote": WORKER_CPUS},
            env={"NODEPIPE_WORKER_DIR": str(outside / "worker"), **s3_server.environment},
        )
        yield cluster


def run_remote(
    ws: nodepipe.Workspace,
    cluster: RayCluster,
    storage: Path | str,
    pipeline: str,
    force: bool = False,
) -> RunResult:
    request = RunRequest(
        pipeline,
        executor="ray",
        ray_address=cluster.address,
        jobs=WORKER_CPUS,
        force=force,
        shared_fs=False,
        storage=str(storage),
    )
    return RunService(ws.context).run(request)


def in_background(run: Callable[[], RunResult]) -> Callable[[], RunResult]:
    """Start ``run`` in a thread; returns a function that waits for its result."""
    results: list[RunResult] = []
    thread = threading.Thread(target=lambda: results.append(run()), daemon=True)
    thread.start()

    def wait() -> RunResult:
        thread.join(timeout=120)
        assert not thread.is_alive(), "the run did not end"
        (result,) = results
        return result

    return wait


def diamond(ws: nodepipe.Workspace) -> None:
    ws.pipelines.new("diamond")
    for tag in "abcd":
        ws.nodes.new("diamond", tag)
    ws.edges.connect("a", "b", "diamond")
    ws.edges.connect("a", "c", "diamond")
    ws.edges.connect("b", "d", "diamond", slot="01")
    ws.edges.connect("c", "d", "diamond", slot="02")
    write_main(
        ws,
        "a",
        f"""
        from pathlib import Path
        print("hello from", node.tag())
        (node.data_dir() / "value.txt").write_text("a")
        (node.data_dir() / "seen.txt").write_text(repr(sorted(Path({str(ws.root)!r}).glob("*"))))
        (node.reports_dir() / "chart.txt").write_text("a chart")
        """,
    )
    for tag in "bc":
        write_main(
            ws,
            tag,
            f"""
            print("hello from", node.tag())
            source = (node.parent("01").data_dir / "value.txt").read_text()
            (node.data_dir() / "value.txt").write_text("{tag}(" + source + ")")
            """,
        )
    write_main(
        ws,
        "d",
        """
        left = (node.parent("01").data_dir / "value.txt").read_text()
        right = (node.parent("02").data_dir / "value.txt").read_text()
        (node.data_dir() / "value.txt").write_text(f"d({left},{right})")
        (node.data_dir() / "sub").mkdir()
        (node.data_dir() / "sub" / "params.txt").write_text(str(node.params()))
        """,
    )


@in_ray_namespace
def test_a_diamond_runs_on_a_worker_without_the_workspace(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """Outputs right, promoted into data/; logs streamed home; the worker saw no workspace;
    a second run of the unchanged locks syncs nothing and uploads no code again."""
    diamond(lab)
    lab.nodes.set_params("d", ["alpha=3"])
    storage = outside / "bucket-diamond"

    first = run_remote(lab, ray_cluster, storage, "diamond")

    assert first.finished is not None and first.run_id is not None
    assert first.finished.status == "completed", node_runs(lab, first.run_id)
    assert (lab.nodes.path("d") / "data" / "value.txt").read_text() == "d(b(a),c(a))"
    assert (lab.nodes.path("d") / "data" / "sub" / "params.txt").read_text() == "{'alpha': 3}"
    assert (lab.nodes.path("a") / "data" / "seen.txt").read_text() == "[]"  # hidden there
    assert (lab.nodes.path("a") / "reports" / "chart.txt").read_text() == "a chart"
    runs = node_runs(lab, first.run_id)
    for tag, node_run in runs.items():
        assert node_run.state is NodeRunState.COMPLETED, (tag, node_run.message)
        log = (lab.nodes.path(tag) / "logs" / f"{node_run.id}.log").read_text()
        assert "Ray worker on" in log and "reserved CPU=1" in log
        assert "environment " in log and "on this worker" in log
        assert f"{outside}/worker/runs/" in log  # the command ran in the worker's folder
    assert "hello from b" in (lab.nodes.path("b") / "logs" / "latest.log").read_text()
    assert lab.nodes.get("d").state is nodepipe.NodeState.COMPLETED
    recorded = lab.run_envs.show("d", first.run_id)
    assert recorded.python and recorded.files["main.py"]
    for node_run in runs.values():  # the worker's scratch folders are gone
        assert not (outside / "worker" / "runs" / node_run.id).exists()
    stored = set(Storage.open(str(storage)).digests())

    second = run_remote(lab, ray_cluster, storage, "diamond", force=True)

    assert second.finished is not None and second.run_id is not None
    assert second.finished.status == "completed"
    for tag, node_run in node_runs(lab, second.run_id).items():
        log = (lab.nodes.path(tag) / "logs" / f"{node_run.id}.log").read_text()
        assert "environment reused on this worker" in log, (tag, log)
    assert set(Storage.open(str(storage)).digests()) == stored  # nothing travelled twice
    assert (lab.nodes.path("d") / "data" / "value.txt").read_text() == "d(b(a),c(a))"


@in_ray_namespace
def test_a_worker_without_the_workspace_builds_the_conda_prefix_from_the_lock(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """The node's conda.lock travels with its code; the worker installs the prefix in its own
    folder (from its own package cache) and the node runs the tool from there."""
    channel = conda_channel(outside / "conda")  # a channel the worker can read
    lab.pipelines.new("tools")
    lab.nodes.new("tools", "t")
    folder = write_main(
        lab,
        "t",
        """
        import os, subprocess
        said = subprocess.run(["hello-tool"], capture_output=True, text=True, check=True).stdout
        (node.data_dir() / "tool.txt").write_text(said.strip())
        (node.data_dir() / "prefix.txt").write_text(os.environ["CONDA_PREFIX"])
        """,
    )
    lab.conda.add("t", ["hello-tool 1.0.*"], [str(channel)])

    result = run_remote(lab, ray_cluster, outside / "bucket-conda", "tools")

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "completed", node_runs(lab, result.run_id)
    assert (folder / "data" / "tool.txt").read_text() == "hello-tool 1.0"
    assert (folder / "data" / "prefix.txt").read_text().startswith(f"{outside}/worker/")
    assert (outside / "worker" / "conda-pkgs").is_dir()


@in_ray_namespace
def test_an_interpreter_node_is_refused_before_the_run_and_runs_once_detached(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """A node run with an existing interpreter of this machine cannot go to a worker without
    the workspace: the run is refused before anything starts (no run, no upload), naming the
    fix; with an environment of its own (``env detach``) it runs there."""
    lab.pipelines.new("solo")
    lab.nodes.new("solo", "s")
    folder = write_main(
        lab, "s", 'import sys\n(node.data_dir() / "py.txt").write_text(sys.prefix)\n'
    )
    lab.isolation.use_interpreter("s", sys.executable)
    storage = outside / "bucket-interpreter"

    with pytest.raises(nodepipe.InvalidInputError) as refused:
        run_remote(lab, ray_cluster, storage, "solo")

    assert f"s runs with the interpreter {Path(sys.executable).absolute()}" in str(refused.value)
    hint = refused.value.hint
    assert hint is not None and hint.params == {"node": lab.nodes.find("s").id, "tag": "s"}
    with lab.context.store.read() as session:
        assert not session.list_runs()
    assert not storage.exists() or not any(storage.iterdir())  # nothing uploaded

    lab.isolation.detach("s")
    result = run_remote(lab, ray_cluster, storage, "solo")

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "completed", node_runs(lab, result.run_id)
    assert (folder / "data" / "py.txt").read_text().startswith(f"{outside}/worker/")


SLEEPER = """
import os, time
print("sleeping under", os.getppid(), "!", flush=True)
(node.data_dir() / "out.txt").write_text("half-written")
while True:
    time.sleep(1)
"""


@in_ray_namespace
def test_a_worker_killed_mid_task_fails_the_node_with_nothing_half_written(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    lab.pipelines.new("sleepy")
    lab.nodes.new("sleepy", "sleeper")
    folder = write_main(lab, "sleeper", "(node.data_dir() / 'out.txt').write_text('first')\n")
    storage = outside / "bucket-sleepy"
    first = run_remote(lab, ray_cluster, storage, "sleepy")
    assert first.finished is not None and first.finished.status == "completed"
    write_main(lab, "sleeper", SLEEPER)
    wait = in_background(lambda: run_remote(lab, ray_cluster, storage, "sleepy"))

    log = folder / "logs" / "latest.log"
    wait_for(lambda: log.exists() and "sleeping" in log.read_text(), "the log to stream", 120)
    worker_pid = int(log.read_text().split("sleeping under ", 1)[1].split(" !", 1)[0])
    os.kill(worker_pid, signal.SIGKILL)  # the Ray worker process running the node
    result = wait()

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "failed"
    node_run = node_runs(lab, result.run_id)["sleeper"]
    assert node_run.state is NodeRunState.FAILED
    assert "worker" in node_run.message.lower(), node_run.message
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert not list((folder / ".staging").glob("*"))
    left = outside / "worker" / "runs" / node_run.id  # its worker died: nobody removed it
    write_main(lab, "sleeper", "(node.data_dir() / 'out.txt').write_text('again')\n")
    again = run_remote(lab, ray_cluster, storage, "sleepy")  # the next task there sweeps it
    assert again.finished is not None and again.finished.status == "completed"
    assert not left.exists()


@in_ray_namespace
def test_code_edited_while_a_remote_node_waits_is_recorded_as_it_was_shipped(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """rec15's launch-time re-read on the way to a worker: q's main.py is edited while p runs
    (q waits), so q ships and runs the new code; its run record, the fingerprint kept with its
    outputs and `node restore` hold that code, not the one planned (audit2 F1, remote)."""
    gate = outside / "gate-edited"
    lab.pipelines.new("edited")
    lab.nodes.new("edited", "p")
    lab.nodes.new("edited", "q")
    lab.edges.connect("p", "q", "edited")
    write_main(
        lab,
        "p",
        f"""
        import pathlib, time
        gate = pathlib.Path({str(gate)!r})
        if not gate.exists():
            print("waiting for the gate", flush=True)
        while not gate.exists():
            time.sleep(0.05)
        (node.data_dir() / "seed.txt").write_text("seed")
        """,
    )
    q = write_main(lab, "q", "(node.data_dir() / 'v.txt').write_text('1')\n")
    storage = outside / "bucket-edited"
    gate.touch()
    first = run_remote(lab, ray_cluster, storage, "edited")
    assert first.finished is not None and first.finished.status == "completed"
    gate.unlink()  # the old main.py is in the object store now

    wait = in_background(lambda: run_remote(lab, ray_cluster, storage, "edited", force=True))
    log = lab.nodes.path("p") / "logs" / "latest.log"
    wait_for(lambda: log.exists() and "waiting for the gate" in log.read_text(), "p to wait", 120)
    write_main(lab, "q", "(node.data_dir() / 'v.txt').write_text('2')\n")
    gate.touch()
    result = wait()

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "completed", node_runs(lab, result.run_id)
    assert (q / "data" / "v.txt").read_text() == "2"
    main = (q / "code" / "main.py").read_bytes()
    past = lab.run_envs.show("q", result.run_id)
    assert past.files["main.py"] == hashlib.sha256(main).hexdigest()
    status = {s.item.node.tag: s for s in lab.runs.status("edited").nodes.values()}
    assert not status["q"].reasons, status["q"].reasons
    lab.nodes.restore("q", result.run_id, "q-then")
    assert (lab.nodes.path("q-then") / "code" / "main.py").read_bytes() == main


def pair(ws: nodepipe.Workspace) -> Path:
    """Pipeline ``pair``: p writes table.csv; q copies it. Returns q's folder."""
    ws.pipelines.new("pair")
    ws.nodes.new("pair", "p")
    ws.nodes.new("pair", "q")
    ws.edges.connect("p", "q", "pair")
    write_main(ws, "p", "(node.data_dir() / 'table.csv').write_text('x,y\\n1,2\\n')\n")
    source = "(node.parent('01').data_dir / 'table.csv').read_text()"
    return write_main(ws, "q", f"(node.data_dir() / 'copy.csv').write_text({source})\n")


@in_ray_namespace
def test_a_damaged_content_in_the_storage_is_refused(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """p's outputs damaged in the bucket: run again, p's outputs are refused when they are
    brought home (the worker found the content there, of the right size, and did not upload
    it again): p fails saying which content, its data/ is kept, q does not run on it. The
    refusal is noted, so running again replaces the content and both nodes complete."""
    q = pair(lab)
    bucket = outside / "bucket-damaged"
    first = run_remote(lab, ray_cluster, bucket, "pair")
    assert first.finished is not None and first.finished.status == "completed"
    storage = Storage.open(str(bucket))
    table = next(d for d in storage.digests() if storage.read(d) == b"x,y\n1,2\n")
    Path(storage.object_path(table)).chmod(0o644)
    Path(storage.object_path(table)).write_bytes(b"x,y\n6,6\n")

    second = run_remote(lab, ray_cluster, bucket, "pair", force=True)

    assert second.finished is not None and second.run_id is not None
    assert second.finished.status == "failed"
    runs = node_runs(lab, second.run_id)
    assert runs["p"].state is NodeRunState.FAILED
    assert "damaged" in runs["p"].message and table[:12] in runs["p"].message
    assert runs["q"].state is NodeRunState.SKIPPED
    assert (lab.nodes.path("p") / "data" / "table.csv").read_text() == "x,y\n1,2\n"
    assert not list((lab.nodes.path("p") / ".staging").glob("*"))
    assert (q / "data" / "copy.csv").read_text() == "x,y\n1,2\n"

    third = run_remote(lab, ray_cluster, bucket, "pair", force=True)

    assert third.finished is not None and third.finished.status == "completed"
    assert storage.read(table) == b"x,y\n1,2\n" and storage.refused() == set()


@in_ray_namespace
def test_nodes_travel_through_an_s3_bucket(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, s3_server: S3Server
) -> None:
    """The same through moto's S3 with s3fs: credentials and endpoint from the environment."""
    q = pair(lab)
    url = s3_server.url("team/nodepipe")

    result = run_remote(lab, ray_cluster, url, "pair")

    assert result.finished is not None and result.finished.status == "completed"
    assert (q / "data" / "copy.csv").read_text() == "x,y\n1,2\n"
    assert b"x,y\n1,2\n" in {Storage.open(url).read(d) for d in Storage.open(url).digests()}


CRASHING_ORCHESTRATOR = """
import sys
import nodepipe
from nodepipe.services.runs.service import RunRequest, RunService
ws = nodepipe.open(sys.argv[1])
request = RunRequest(
    "pair", executor="ray", ray_address=sys.argv[2], shared_fs=False, storage=sys.argv[3],
    force=True,
)
RunService(ws.context).run(request)
"""


def killed_at(
    lab: nodepipe.Workspace, cluster: RayCluster, bucket: Path, point: str
) -> nodepipe.Workspace:
    """A forced remote run of ``pair`` SIGKILLed at crash point ``point``; the workspace
    opened again, with the dead run recovered."""
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_ORCHESTRATOR, str(lab.root), cluster.address, str(bucket)],
        env={**os.environ, CRASH_ENV: point},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    ws = nodepipe.open(lab.root)
    RunService(ws.context).recover()  # (opening the workspace may have done it already)
    return ws


@in_ray_namespace
def test_an_orchestrator_killed_mid_upload_loses_nothing(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """SIGKILLed while shipping p's changed code (its manifest uploaded, not yet in place): the
    run is recovered as interrupted, its nodes (neither had started) given back as they were,
    the outputs are as they were, the storage names no half upload, and the next run
    completes."""
    q = pair(lab)
    bucket = outside / "bucket-killed"
    first = run_remote(lab, ray_cluster, bucket, "pair")
    assert first.finished is not None and first.finished.status == "completed"
    write_main(lab, "p", "(node.data_dir() / 'table.csv').write_text('x,y\\n3,4\\n')\n")
    lab.close()

    ws = killed_at(lab, ray_cluster, bucket, "storage.uploaded@2")
    try:
        with ws.context.store.read() as session:
            (killed_run, _) = session.list_runs(limit=2)
            left = session.node_runs_of_run(killed_run.id)
        assert {nr.state for nr in left} == {NodeRunState.SKIPPED}
        assert all(nr.message.startswith("not started") for nr in left), [nr.message for nr in left]
        assert killed_run.status is RunStatus.INTERRUPTED
        assert (ws.nodes.path("p") / "data" / "table.csv").read_text() == "x,y\n1,2\n"
        assert (q / "data" / "copy.csv").read_text() == "x,y\n1,2\n"
        assert not list((q / ".staging").glob("*"))
        storage = Storage.open(str(bucket))
        assert len(storage.incoming()) == 1  # the cut upload, for doctor --storage --collect
        for content in storage.digests():
            storage.read(content)  # whole, or not there at all
        again = run_remote(ws, ray_cluster, bucket, "pair")
        assert again.finished is not None and again.finished.status == "completed"
        assert (q / "data" / "copy.csv").read_text() == "x,y\n3,4\n"
    finally:
        ws.close()


@in_ray_namespace
def test_an_orchestrator_killed_once_a_node_is_on_the_cluster_says_it_was_interrupted(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    """SIGKILLed right after p's task went to the cluster (before the worker said it started,
    so the store still has p queued): p may have run there, so the recovered run says p was
    interrupted (failed), not "not started"; q, never handed out, is given back; the outputs
    are as they were and the next run completes."""
    q = pair(lab)
    bucket = outside / "bucket-submitted"
    first = run_remote(lab, ray_cluster, bucket, "pair")
    assert first.finished is not None and first.finished.status == "completed"
    lab.close()

    ws = killed_at(lab, ray_cluster, bucket, "ray.shipped-submitted")
    try:
        with ws.context.store.read() as session:
            (killed_run, _) = session.list_runs(limit=2)
        runs = node_runs(ws, killed_run.id)
        assert killed_run.status is RunStatus.INTERRUPTED
        assert runs["p"].state is NodeRunState.FAILED, runs["p"].message
        assert not runs["p"].message.startswith("not started"), runs["p"].message
        assert runs["q"].state is NodeRunState.SKIPPED
        assert runs["q"].message.startswith("not started"), runs["q"].message
        assert ws.nodes.get("p", "pair").state.value == "failed"
        assert (ws.nodes.path("p") / "data" / "table.csv").read_text() == "x,y\n1,2\n"
        assert (q / "data" / "copy.csv").read_text() == "x,y\n1,2\n"
        again = run_remote(ws, ray_cluster, bucket, "pair")
        assert again.finished is not None and again.finished.status == "completed"
    finally:
        ws.close()


@in_ray_namespace
def test_kill_stops_a_remote_node_and_leaves_its_outputs(
    lab: nodepipe.Workspace, ray_cluster: RayCluster, outside: Path
) -> None:
    lab.pipelines.new("slow")
    lab.nodes.new("slow", "slow")
    folder = write_main(lab, "slow", "(node.data_dir() / 'out.txt').write_text('first')\n")
    bucket = outside / "bucket-kill"
    first = run_remote(lab, ray_cluster, bucket, "slow")
    assert first.finished is not None and first.finished.status == "completed"
    write_main(
        lab,
        "slow",
        """
        import time
        (node.data_dir() / "out.txt").write_text("half-written")
        print("waiting", flush=True)
        time.sleep(600)
        """,
    )
    wait = in_background(lambda: run_remote(lab, ray_cluster, bucket, "slow"))
    log = folder / "logs" / "latest.log"
    wait_for(lambda: log.exists() and "waiting" in log.read_text(), "the node to start", 120)

    RunService(lab.context).kill(["slow"])
    result = wait()

    assert result.finished is not None and result.run_id is not None
    assert result.finished.status == "cancelled"
    node_run = node_runs(lab, result.run_id)["slow"]
    assert node_run.state is NodeRunState.CANCELLED
    lines = log.read_text().splitlines()  # its end on the worker, which Ray's stream dropped
    assert lines[-2:] == ["waiting", "# nodepipe: killed on request"], lines
    assert (folder / "data" / "out.txt").read_text() == "first"
    assert not list((folder / ".staging").glob("*"))
    assert not (outside / "worker" / "runs" / node_run.id).exists()
