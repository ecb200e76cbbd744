"""Sharing outputs between workspaces through the storage: a colleague pulls instead of running.

Two workspaces build the same pipeline (same code, locks, parameters); both name the same
storage folder. What the first ran, the second pulls by digest; what differs, it runs.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import nodepipe
from nodepipe.domain.runs import NodeRunState
from nodepipe.services.runs.service import RunRequest, RunService
from nodepipe.workspace.file_digests import sha256_file
from nodepipe.workspace.storage import Storage
from support.waiting import wait_for
from support.worlds import build_pipeline

PIPELINE = {"load": [], "clean": ["load"], "plot": ["clean"]}


def write_nodes(ws: nodepipe.Workspace, ledger: Path) -> None:
    """Each node appends its tag to ``ledger`` (outside both workspaces) when it really runs."""
    for tag in PIPELINE:
        body = (
            "import nodepipe_node as node\n"
            f"with open({str(ledger)!r}, 'a') as ledger:\n"
            "    ledger.write(node.tag() + '\\n')\n"
            "text = ''.join((p.data_dir / 'out.txt').read_text() for p in node.parents())\n"
            "scale = node.params().get('scale', 1)\n"
            "(node.data_dir() / 'out.txt').write_text(f'{text}{node.tag()}x{scale};')\n"
        )
        (ws.nodes.path(tag) / "code" / "main.py").write_text(body, encoding="utf-8")


def run(ws: nodepipe.Workspace, storage: Path, force: bool = False) -> dict[str, str]:
    """The node runs of a run of ``shared``: tag -> where it ran ({} when nothing needed to)."""
    result = RunService(ws.context).run(RunRequest("shared", storage=str(storage), force=force))
    if result.run_id is None:
        return {}
    assert result.finished is not None
    assert result.finished.status == "completed"
    with ws.context.store.read() as session:
        tags = {n.id: n.tag for n in session.list_nodes()}
        runs = session.node_runs_of_run(result.run_id)
    assert all(nr.state is NodeRunState.COMPLETED for nr in runs)
    return {tags[nr.node_id]: nr.host for nr in runs}


def test_a_colleague_pulls_what_was_made_and_runs_what_differs(tmp_path: Path) -> None:
    storage, ledger = tmp_path / "team-bucket", tmp_path / "ran.txt"
    mine = nodepipe.init(tmp_path / "mine")
    theirs = nodepipe.init(tmp_path / "theirs")
    try:
        for ws in (mine, theirs):
            build_pipeline(ws, "shared", PIPELINE)
            write_nodes(ws, ledger)

        run(mine, storage)
        assert ledger.read_text().split() == ["load", "clean", "plot"]
        pulled = run(theirs, storage)

        assert ledger.read_text().split() == ["load", "clean", "plot"]  # nothing ran again
        assert set(pulled.values()) == {"storage"}
        out = theirs.nodes.path("plot") / "data" / "out.txt"
        assert out.read_text() == "loadx1;cleanx1;plotx1;"
        assert theirs.nodes.get("plot").state is nodepipe.NodeState.COMPLETED
        log = (theirs.nodes.path("clean") / "logs" / "latest.log").read_text()
        assert "pulled from" in log and "did not run" in log
        assert run(theirs, storage) == {}  # up to date now: nothing to run, nothing pulled

        theirs.nodes.set_params("clean", ["scale=2"])
        changed = run(theirs, storage)

        assert set(changed) == {"clean", "plot"} and "storage" not in changed.values()
        assert ledger.read_text().split()[3:] == ["clean", "plot"]
        assert out.read_text() == "loadx1;cleanx2;plotx1;"

        forced = run(mine, storage, force=True)
        assert "storage" not in forced.values()  # --force runs, never pulls
    finally:
        mine.close()
        theirs.close()


def test_kill_works_and_publishes_nothing(lab: nodepipe.Workspace, tmp_path: Path) -> None:
    """A run with a storage is killed as any other; what it did not finish is not shared."""
    storage = tmp_path / "team-bucket"
    build_pipeline(lab, "slow", {"nap": []})
    sleeper = "import time\nprint('sleeping', flush=True)\ntime.sleep(600)\n"
    (lab.nodes.path("nap") / "code" / "main.py").write_text(sleeper, encoding="utf-8")
    results = []
    runner = threading.Thread(
        target=lambda: results.append(
            RunService(lab.context).run(RunRequest("slow", storage=str(storage)))
        )
    )
    runner.start()
    log = lab.nodes.path("nap") / "logs" / "latest.log"
    wait_for(lambda: log.exists() and "sleeping" in log.read_text(), "the node to start", 60)

    RunService(lab.context).kill(["nap"])
    runner.join(timeout=60)

    (result,) = results
    assert result.finished is not None and result.finished.status == "cancelled"
    assert not list(Storage.open(str(storage)).records())


def test_outputs_that_cannot_be_pulled_are_made_again_and_repair_the_storage(
    tmp_path: Path,
) -> None:
    """A record naming a damaged content (or a missing one) does not fail the colleague's node
    for ever: the node runs, says why in its log, and its upload puts the content right."""
    storage, ledger = tmp_path / "team-bucket", tmp_path / "ran.txt"
    workspaces = [nodepipe.init(tmp_path / name) for name in ("mine", "theirs", "third")]
    mine, theirs, third = workspaces
    try:
        for ws in workspaces:
            build_pipeline(ws, "shared", PIPELINE)
            write_nodes(ws, ledger)
        run(mine, storage)
        bucket = Storage.open(str(storage))
        load_out = mine.nodes.path("load") / "data" / "out.txt"
        damaged = Path(bucket.object_path(sha256_file(load_out)))
        damaged.chmod(0o600)
        damaged.write_text("tampered")
        clean_out = mine.nodes.path("clean") / "data" / "out.txt"
        Path(bucket.object_path(sha256_file(clean_out))).unlink()

        ran = run(theirs, storage)

        assert ran["load"] != "storage" and ran["clean"] != "storage"
        assert ran["plot"] == "storage"  # its outputs were whole: pulled
        assert ledger.read_text().split()[3:] == ["load", "clean"]
        out = theirs.nodes.path("plot") / "data" / "out.txt"
        assert out.read_text() == "loadx1;cleanx1;plotx1;"
        log = (theirs.nodes.path("load") / "logs" / "latest.log").read_text()
        assert "could not be pulled" in log and "damaged" in log
        log = (theirs.nodes.path("clean") / "logs" / "latest.log").read_text()
        assert "could not be pulled" in log and "missing" in log
        assert bucket.read(sha256_file(load_out)) == b"loadx1;"  # repaired by the upload
        assert bucket.has(sha256_file(clean_out))
        assert set(run(third, storage).values()) == {"storage"}
        assert len(ledger.read_text().split()) == 5
    finally:
        for ws in workspaces:
            ws.close()


def test_outputs_whose_manifest_names_an_impossible_path_are_made_again(
    tmp_path: Path,
) -> None:
    """A bucket whose records name a manifest with a file name no system can hold (a NUL
    byte in it) fails no run: each node runs instead, as for a damaged content."""
    storage, ledger = tmp_path / "team-bucket", tmp_path / "ran.txt"
    workspaces = [nodepipe.init(tmp_path / name) for name in ("mine", "theirs")]
    mine, theirs = workspaces
    try:
        for ws in workspaces:
            build_pipeline(ws, "shared", PIPELINE)
            write_nodes(ws, ledger)
        run(mine, storage)
        bucket = Storage.open(str(storage))
        content, _ = bucket.put_bytes(b"hostile")
        manifest, _ = bucket.put_bytes(json.dumps({"out\u0000.txt": content}).encode())
        records = list((storage / "runs").glob("*/*"))
        assert len(records) == len(PIPELINE)
        for record in records:
            record.chmod(0o600)
            record.write_text(json.dumps({**json.loads(record.read_text()), "outputs": manifest}))

        ran = run(theirs, storage)

        assert set(ran) == set(PIPELINE) and "storage" not in ran.values()
        out = theirs.nodes.path("plot") / "data" / "out.txt"
        assert out.read_text() == "loadx1;cleanx1;plotx1;"
        log = (theirs.nodes.path("load") / "logs" / "latest.log").read_text()
        assert "could not be pulled" in log and "out\\x00.txt" in log
    finally:
        for ws in workspaces:
            ws.close()
