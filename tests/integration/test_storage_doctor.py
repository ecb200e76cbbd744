"""`nodepipe doctor --storage`: listing and collecting what no run of the workspace names."""

from __future__ import annotations

from pathlib import Path

import nodepipe
from nodepipe.workspace.storage import Storage
from nodepipe.workspace.storage_trees import download_outputs, upload_code, upload_outputs
from support.worlds import CHAIN, build_pipeline

from .conftest import CliRunner


def test_doctor_lists_then_collects_only_the_unreferenced(
    lab: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    build_pipeline(lab, "baseline", CHAIN)
    assert cli("run", "baseline").code == 0
    bucket = tmp_path / "bucket"
    storage = Storage.open(str(bucket))
    kept = upload_outputs(storage, lab.nodes.path("clean") / "data")
    orphan, _ = storage.put_bytes(b"outputs of a run whose record is gone")
    old_code = lab.nodes.path("plot") / "code"
    (old_code / "main.py").write_text("print('an old version')\n")
    stale_code = upload_code(storage, old_code)
    (bucket / "incoming").mkdir(exist_ok=True)
    (bucket / "incoming" / "cut-short.tmp").write_bytes(b"half an upl")
    (bucket / "damaged").mkdir()
    (bucket / "damaged" / ("e" * 64)).write_bytes(b"")  # a refused content since removed by hand

    recent = cli("doctor", "--storage", str(bucket), "--json")
    listed = cli("doctor", "--storage", str(bucket), "--grace", "0", "--json")

    assert recent.code == 0 and recent.json()["unreferenced"] == []
    assert recent.json()["too_recent"] >= 3
    report = listed.json()
    assert orphan in report["unreferenced"] and stale_code in report["unreferenced"]
    assert kept not in report["unreferenced"]  # the store names it: clean's outputs
    assert report["uploads_cut_short"] == [str(bucket / "incoming" / "cut-short.tmp")]
    assert storage.has(orphan)  # listing changes nothing

    collected = cli("doctor", "--storage", str(bucket), "--grace", "0", "--collect")

    assert collected.code == 0, collected
    assert "removed: " in collected.stdout
    assert not storage.has(orphan) and not storage.has(stale_code)
    assert storage.incoming() == [] and storage.refused() == set()
    download_outputs(storage, kept, tmp_path / "still-there")
    assert (tmp_path / "still-there").iterdir()


def test_doctor_storage_needs_a_url(lab: nodepipe.Workspace, cli: CliRunner) -> None:
    result = cli("doctor", "--storage")
    assert result.code == 2 and "[storage] url" in result.stderr
    assert cli("doctor", "--collect").code == 2
