"""The run object store (``.nodepipe/objects``) is reported and collected (audit2 F19):
`doctor` shows its size; `doctor --objects` what no run record names; `--collect` removes it;
`--keep N` prunes the environments of older runs (asked for), and restoring a pruned run says
so (real runs, real files)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from integration.test_run_processes import recorded_elsewhere
from nodepipe.execution.recovery import pid_space
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.objects import ObjectStore
from support.waiting import wait_for
from support.worlds import CHAIN, build_pipeline

BIG = 300_000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ran(ws: nodepipe.Workspace, **request: list[str]) -> str:
    result = ws.runs.run(RunRequest("baseline", force=True, **request))  # type: ignore[arg-type]
    assert result.run_id is not None and result.finished is not None
    assert result.finished.failed == 0
    return result.run_id


WAITS = """\
import pathlib, sys, time
gate = pathlib.Path(sys.argv[0]).with_name("gate")
pathlib.Path(sys.argv[0]).with_name("started").touch()
while not gate.exists():
    time.sleep(0.05)
"""


def test_a_collection_during_a_run_leaves_what_the_run_may_not_have_named_yet(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """A run stores what a node starts with before the store names it (a batch later): while
    a run is going on, nothing written since it began is collected, whatever ``--grace``."""
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(WAITS)
    worker = threading.Thread(target=lambda: chain.runs.run(RunRequest("baseline", only=["load"])))
    worker.start()
    objects = ObjectStore(chain.context.layout.objects_dir)
    try:
        wait_for(lambda: (code / "started").exists(), "the node to start")
        digest, _ = objects.put_bytes(b"recorded, not named yet")  # as a launch records it
        collected = cli("doctor", "--objects", "--collect", "--grace", "0", "--json")
        assert collected.code == 0, collected.stderr
        assert collected.json()["too_recent"] >= 1
        assert objects.has(digest)
    finally:
        (code / "gate").touch()
        worker.join(60)
    collected = cli("doctor", "--objects", "--collect", "--grace", "0", "--json")
    assert collected.code == 0, collected.stderr
    assert not objects.has(digest)  # no run going on: what no record names goes


def test_a_run_whose_process_died_is_settled_before_a_collection_and_holds_nothing_back(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """A run the store still calls running, whose process is gone, does not keep a collection
    from what was written since it began: the collection settles it first."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run_id = recorded_elsewhere(chain, gone.pid, pid_space())  # this machine, boot, namespace
    objects = ObjectStore(chain.context.layout.objects_dir)
    digest, _ = objects.put_bytes(b"named by no run")
    collected = cli("doctor", "--objects", "--collect", "--grace", "0", "--json")
    assert collected.code == 0, collected.stderr
    assert not objects.has(digest)
    (run,) = [r for r in chain.runs.history("baseline") if r.id == run_id]
    assert run.status.value == "interrupted"


def test_doctor_reports_the_object_store_and_collects_what_no_run_names(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain.nodes.new("baseline", "model")
    code = chain.nodes.path("model") / "code"
    weights = bytes(range(256)) * (BIG // 256)
    (code / "model.bin").write_bytes(weights)
    first = ran(chain)
    objects = ObjectStore(chain.context.layout.objects_dir)
    assert objects.has(sha256(weights))

    report = cli("doctor", "--json")
    assert report.code == 0, report.stderr
    assert report.json()["disk"]["objects"] >= BIG
    assert "run records (.nodepipe/objects)" in cli("doctor").stdout
    looked = cli("doctor", "--objects", "--json", "--grace", "0").json()
    assert looked["unreferenced"] == 0 and looked["referenced"] == looked["contents"] > 0

    removed = chain.nodes.delete(["model"], "baseline")
    assert removed is not None
    looked = cli("doctor", "--objects", "--json").json()  # the default grace: too recent
    assert looked["unreferenced"] == 0 and looked["too_recent"] >= 1
    said = cli("doctor", "--objects", "--grace", "0")
    assert "no run names: " in said.stdout and "--collect" in said.stdout
    assert objects.has(sha256(weights))  # looking removes nothing

    collected = cli("doctor", "--objects", "--collect", "--grace", "0", "--json")
    assert collected.code == 0, collected.stderr
    assert collected.json()["collected"] and collected.json()["unreferenced_bytes"] >= BIG
    assert not objects.has(sha256(weights))
    for tag in ("load", "clean", "plot"):  # what the kept runs name is all there
        past = chain.run_envs.show(tag, first)
        for digest in [past.code, *past.files.values()]:
            objects.read(digest)
    again = cli("doctor", "--objects", "--json", "--grace", "0").json()
    assert again["unreferenced"] == 0
    assert not list(objects.root.rglob(".*"))  # nothing left aside


@pytest.fixture
def any_chain(
    tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[nodepipe.Workspace]:
    """``chain`` on SQLite and on PostgreSQL."""
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    ws = nodepipe.init(tmp_path / "lab", store_url=store_url)
    monkeypatch.chdir(ws.root)
    build_pipeline(ws, "baseline", CHAIN, project="climate")
    yield ws
    ws.close()


def test_keep_prunes_older_runs_after_asking_and_their_restore_says_so(
    any_chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    chain = any_chain
    main = chain.nodes.path("load") / "code" / "main.py"
    main.write_text("print('first version')\n")
    first = ran(chain, only=["load"])
    main.write_text("print('second version')\n")
    second = ran(chain, only=["load"])
    objects = ObjectStore(chain.context.layout.objects_dir)
    old = sha256(b"print('first version')\n")
    assert objects.has(old)

    refused = cli("doctor", "--objects", "--keep", "1", "--collect", "--grace", "0")
    assert refused.code == 2, refused.stderr
    assert "1 node runs" in refused.stderr and "--yes" in refused.stderr
    assert objects.has(old) and chain.run_envs.show("load", first).files  # nothing changed

    dry = cli("doctor", "--objects", "--keep", "1", "--grace", "0", "--json").json()
    assert len(dry["pruned"]) == 1 and dry["unreferenced"] >= 2  # main.py and its manifest
    done = cli("doctor", "--objects", "--keep", "1", "--collect", "--grace", "0", "--yes")
    assert done.code == 0, done.stderr
    assert "environments of 1 older node runs pruned" in done.stdout
    assert not objects.has(old)

    recorded = chain.run_envs.show("load", second)  # what a pruned record keeps: the same
    kept_facts = f"it ran Python {recorded.python} ({recorded.interpreter}) on {recorded.platform}"
    for argv in (
        ("env", "restore", "load", "--run", first),
        ("node", "restore", "load", "--run", first, "--as", "load-then"),
        ("runs", "--run", first, "--node", "load"),
    ):
        said = cli(*argv)
        assert said.code == 2, (argv, said.stderr)
        assert "was pruned" in said.stderr, said.stderr
        # the README: its Python version and platform stay in the history; they are shown
        assert kept_facts in " ".join(said.stderr.split()), said.stderr
    assert "load-then" not in {n.tag for n in chain.nodes.list("baseline")}
    kept = cli("runs", "--run", second, "--node", "load", "--json")
    assert kept.code == 0 and json.loads(kept.stdout)["files"]["main.py"] == sha256(
        main.read_bytes()
    )
    assert cli("env", "restore", "load", "--run", second).code == 0
    history = cli("runs", "--json")
    assert first in history.stdout  # the run itself stays in the history


def test_a_content_being_collected_is_still_read_and_a_kept_one_is_put_back(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """The collection's two steps (aside, then removed unless kept again): a run that keeps a
    content again between them keeps it."""
    from nodepipe.workspace.object_collect import collect, survey

    objects = ObjectStore(tmp_path / "objects")
    digest, _ = objects.put_bytes(b"old content")
    (content,) = survey(objects.root)
    aside = content.path.with_name(".collecting." + digest)
    content.path.rename(aside)
    assert objects.read(digest) == b"old content"  # read under its collecting name
    aside.rename(content.path)
    objects.put_bytes(b"old content")  # kept again: touched
    assert not collect(content, older_than=content.modified + 0.000001)
    assert objects.read(digest) == b"old content" and not aside.exists()
