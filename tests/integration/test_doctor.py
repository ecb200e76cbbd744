"""`nodepipe doctor`: finds each kind of leftover (made by killing real processes where that
can make it, by hand where only an older nodepipe or a hand edit can), repairs it with
`--repair`, changes nothing without it, and never touches what a live run or operation uses."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.domain.runs import RunStatus
from nodepipe.envs.kernels import install_kernel
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace import journal
from support.waiting import wait_for

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
WRITE = "import nodepipe_node as n\n(n.data_dir() / 'out.txt').write_text({text!r})\n"


def write_main(ws: nodepipe.Workspace, tag: str, text: str) -> None:
    (ws.nodes.path(tag) / "code" / "main.py").write_text(WRITE.format(text=text))


def crashed(ws: nodepipe.Workspace, point: str, *args: str) -> None:
    """Run ``nodepipe ARGS`` in a process that kills itself (SIGKILL) at crash point ``point``."""
    env = {**os.environ, "NODEPIPE_CRASH_AT": point}
    finished = subprocess.run(
        [NODEPIPE, *args], cwd=ws.root, env=env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == -9, (point, finished.stdout, finished.stderr)


def doctor(cli: CliRunner, *options: str) -> dict[str, Any]:
    result = cli("doctor", *options, "--json")
    assert result.code == 0, result.stderr
    found: dict[str, Any] = result.json()
    return found


def by_category(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        grouped.setdefault(finding["category"], []).append(finding)
    return grouped


def to_repair(report: dict[str, Any]) -> dict[str, int]:
    return {c["category"]: c["to_repair"] for c in report["categories"] if c["to_repair"]}


def tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ``root`` with its mode and (for files) content: what must not change
    (but the store, whose shared-memory file readers write to)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or path.name.startswith("store.sqlite"):
            continue
        content = path.read_bytes() if path.is_file() else None
        found[str(path.relative_to(root))] = (stat.S_IMODE(path.stat().st_mode), content)
    return found


@pytest.fixture
def ran(chain: nodepipe.Workspace) -> nodepipe.Workspace:
    """load → clean → plot, run once: each wrote ``<tag> v1``."""
    for tag in ("load", "clean", "plot"):
        write_main(chain, tag, f"{tag} v1")
    chain.runs.run(RunRequest("baseline"))
    return chain


@pytest.fixture
def kernels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(folder))
    return folder / "kernels"


def test_a_killed_run_is_reported_then_settled_by_repair(
    ran: nodepipe.Workspace, cli: CliRunner
) -> None:
    write_main(ran, "load", "load v2")
    crashed(ran, "promote.previous-aside", "run", "baseline", "--only", "load")
    data = ran.nodes.path("load") / "data"
    assert not data.exists()  # the old outputs are aside, the new ones not yet in place
    report = doctor(cli, "--dry-run")
    assert to_repair(report) == {"interrupted-runs": 1}
    assert not data.exists()  # looking changed nothing
    repaired = doctor(cli, "--repair")
    assert [f["category"] for f in repaired["repaired"]] == ["interrupted-runs"]
    assert (data / "out.txt").read_text() == "load v1"
    assert to_repair(repaired["remaining"]) == {}
    with ran.context.store.read() as session:
        assert next(r.status for r in session.list_runs()) is RunStatus.INTERRUPTED


def test_a_killed_duplicate_is_an_abandoned_operation_whose_folder_repair_removes(
    ran: nodepipe.Workspace, cli: CliRunner
) -> None:
    crashed(
        ran, "folders.moved", "node", "duplicate", "clean", "--pipeline", "baseline", "--with-data"
    )
    before = {p.name for p in ran.context.layout.nodes_dir.iterdir()}
    (half_copy,) = before - {n.id for n in ran.nodes.list()}
    report = doctor(cli)
    found = by_category(report)
    assert to_repair(report) == {"abandoned-operations": 1}
    assert half_copy in found["abandoned-operations"][0]["what"]
    assert "orphan-folders" not in found  # the operation's recovery decides about it
    assert (ran.context.layout.nodes_dir / half_copy).is_dir()
    repaired = doctor(cli, "--repair")
    assert to_repair(repaired["remaining"]) == {}
    assert not (ran.context.layout.nodes_dir / half_copy).exists()
    assert list(ran.context.layout.staging_dir.iterdir()) == []


def test_leftovers_of_older_versions_and_hand_edits_are_found_and_repaired(
    ran: nodepipe.Workspace, cli: CliRunner, kernels: Path, tmp_path: Path
) -> None:
    layout = ran.context.layout
    clean = ran.nodes.get("clean")
    plot = ran.nodes.get("plot")
    # made by hand: an older nodepipe (no journal) left these, or a person did
    litter = layout.staging_dir / "half-copy"
    (litter / "data").mkdir(parents=True)
    (litter / "data" / "big.bin").write_bytes(b"x" * 100_000)
    (layout.staging_dir / "k2lled22").mkdir()  # an operation killed before its intent
    (layout.staging_dir / "k2lled22.lock").touch()
    staging = layout.node_dir(clean.id) / ".staging"
    (staging / "oldrun.previous").mkdir(parents=True)
    (staging / "oldrun.previous" / "out.txt").write_text("clean v0")
    (staging / "oldrun.promoting").write_text("{}")
    old_env = layout.node_dir(clean.id) / "code" / ".venv.old-1a2b3c4d"
    shutil.copytree(layout.node_dir(clean.id) / "code" / ".venv", old_env, symlinks=True)
    orphan = layout.nodes_dir / "rphan234"
    shutil.copytree(layout.node_dir(plot.id), orphan, symlinks=True)
    shutil.rmtree(layout.node_dir(ran.nodes.get("load").id))
    install_kernel("gone2345", "gone", Path(sys.executable), layout.nodes_dir / "gone2345", ())
    copied = install_kernel(
        "gone6789", "gone", Path(sys.executable), layout.nodes_dir / "gone6789", ()
    )
    copied = copied.rename(copied.with_name("nodepipe-gone6789-copy"))  # renamed by hand
    elsewhere = install_kernel(
        "gone4321", "gone", Path(sys.executable), layout.nodes_dir / "gone4321", ()
    )
    linked = kernels / "nodepipe-linked"
    linked.symlink_to(elsewhere.rename(tmp_path / "kernel-elsewhere"), target_is_directory=True)
    kept = install_kernel(plot.id, "plot", Path(sys.executable), layout.node_dir(plot.id), ())
    layout.config_file.chmod(0o644)
    layout.state_dir.chmod(0o755)

    before = tree(ran.root)
    report = doctor(cli, "--dry-run")
    assert to_repair(report) == {
        "abandoned-operations": 1,
        "staging-litter": 1,
        "promotion-leftovers": 2,
        "environment-leftovers": 1,
        "orphan-folders": 1,
        "missing-folders": 1,
        "stale-kernels": 3,
        "private-files": 2,
    }
    sizes = {c["category"]: c["bytes"] for c in report["categories"]}
    assert sizes["staging-litter"] >= 100_000
    assert tree(ran.root) == before  # a dry run changes nothing

    repaired = doctor(cli, "--repair")
    assert len(repaired["repaired"]) == 12
    assert to_repair(repaired["remaining"]) == {}
    assert not litter.exists() and not old_env.exists()
    assert list(layout.staging_dir.iterdir()) == []
    assert sorted(p.name for p in staging.iterdir()) == []
    assert (layout.node_dir(clean.id) / "data" / "out.txt").read_text() == "clean v1"
    assert not (kernels / "nodepipe-gone2345").exists()
    assert not copied.exists()  # the folder found, not one named after its node
    assert not linked.is_symlink() and (tmp_path / "kernel-elsewhere" / "kernel.json").is_file()
    assert (kept / "kernel.json").is_file()  # a live node's
    assert stat.S_IMODE(layout.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(layout.state_dir.stat().st_mode) == 0o700
    load = ran.nodes.find("load")  # the record the doctor wrote
    assert load.state is nodepipe.NodeState.FAILED
    assert load.state_reason == f"folder missing: {layout.nodes_dir / load.id}"
    adopted = ran.nodes.get("rphan234")
    assert adopted.tag == "plot" and adopted.state is nodepipe.NodeState.STALE
    assert (orphan / "data" / "out.txt").read_text() == "plot v1"
    view = ran.pipelines.show("recovered")
    assert view.inputs("rphan234") == (nodepipe.Edge(clean.id, "rphan234", "01"),)
    assert view.node(clean.id).is_reference


def test_a_password_in_nodepipe_toml_is_moved_out(lab: nodepipe.Workspace, cli: CliRunner) -> None:
    config = lab.context.layout.config_file
    url = "postgresql+psycopg://someone:pw-Zq81xv@db.example:5432/lab"
    config.write_text(config.read_text().replace(lab.context.config.store_url, url))
    os.environ["NODEPIPE_DB_URL"] = lab.context.store.url.render_as_string(hide_password=False)
    try:
        report = doctor(cli, "--dry-run")
        assert to_repair(report) == {"private-files": 1}
        assert "pw-Zq81xv" not in cli("doctor", "--dry-run").stdout
        doctor(cli, "--repair")
    finally:
        del os.environ["NODEPIPE_DB_URL"]
    assert "pw-Zq81xv" not in config.read_text()
    assert "someone@db.example:5432/lab" in config.read_text()
    secret = lab.context.layout.store_password_file
    assert secret.read_text().strip() == "pw-Zq81xv"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_repair_never_touches_what_a_live_operation_names(
    ran: nodepipe.Workspace, cli: CliRunner
) -> None:
    layout = ran.context.layout
    clean = layout.node_dir(ran.nodes.get("clean").id)
    building = clean / "code" / ".venv.building-5e5e5e5e"
    building.mkdir()
    arriving = layout.nodes_dir / "arr2v2ng"
    shutil.copytree(clean, arriving, symlinks=True, ignore=shutil.ignore_patterns(".venv*"))
    held = journal.begin(
        layout.staging_dir, "node-folders", installing=["arr2v2ng"], leftovers=[str(building)]
    )
    (held.folder / "half").mkdir()
    try:
        before = tree(ran.root)
        repaired = doctor(cli, "--repair")
        assert repaired["repaired"] == []
        in_use = by_category(repaired["found"])["in-use"]
        assert [f["subject"] for f in in_use] == [str(held.folder)]
        assert tree(ran.root) == before
    finally:
        held.finish()


def test_repair_leaves_a_live_run_alone(
    ran: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    waiting = (
        "import pathlib, time\n"
        f"gate = pathlib.Path({str(gate)!r})\n"
        "(gate / 'started').touch()\n"
        "while not (gate / 'release').exists():\n"
        "    time.sleep(0.02)\n"
    )
    (ran.nodes.path("load") / "code" / "main.py").write_text(waiting)
    run = subprocess.Popen([NODEPIPE, "run", "baseline", "--only", "load"], cwd=ran.root)
    try:

        def started() -> bool:
            assert run.poll() is None, "the run ended before its node started"
            return (gate / "started").exists()

        wait_for(started, "load to start", 120)
        staging = ran.nodes.path("load") / ".staging"
        before = sorted(p.name for p in staging.iterdir())
        repaired = doctor(cli, "--repair")
        assert repaired["repaired"] == []
        assert [f["category"] for f in repaired["found"]["findings"]] == ["in-use"]
        assert sorted(p.name for p in staging.iterdir()) == before
    finally:
        (gate / "release").touch()
    assert run.wait(timeout=300) == 0


def test_kept_bundles_no_include_uses_are_reported_with_their_size_and_removed(
    chain: nodepipe.Workspace, tmp_path: Path, cli: CliRunner
) -> None:
    for alias in ("one", "two"):
        built = chain.packages.build("baseline", alias=alias, destination=tmp_path / "dist")
        chain.pipelines.new(f"into-{alias}")
        chain.packages.pull_into(str(built.wheel), f"into-{alias}", alias)
    kept = chain.context.layout.state_dir / "packages"
    assert sorted(p.name for p in kept.iterdir()) == ["one-0.1.0", "two-0.1.0"]
    assert doctor(cli)["findings"] == [], "both bundles are included"
    chain.pipelines.delete("into-two")
    before = tree(chain.root)
    report = doctor(cli)
    (found,) = by_category(report)["kept-packages"]
    assert found["subject"] == str(kept / "two-0.1.0")
    assert found["bytes"] >= (kept / "two-0.1.0" / "pipeline.toml").stat().st_size > 0
    assert to_repair(report) == {"kept-packages": 1}
    summary = cli("doctor")
    assert "bundles of pulled packages no pipeline includes" in summary.stdout
    assert tree(chain.root) == before, "looking changed something"
    repaired = doctor(cli, "--repair")
    assert [f["subject"] for f in repaired["repaired"]] == [str(kept / "two-0.1.0")]
    assert sorted(p.name for p in kept.iterdir()) == ["one-0.1.0"]
    assert doctor(cli)["findings"] == []
    chain.runs.run(RunRequest("into-one"))  # the include still there runs from its bundle


def test_a_save_a_kill_cut_short_is_never_copied_and_repair_removes_it(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "helpers.py").write_text("X = 1\n")
    crashed(chain, "aside-written.toml", "env", "code-path", "add", "clean", str(scripts))
    code = chain.nodes.path("clean") / "code"
    (left,) = code.glob(".pyproject.toml.*.tmp")
    assert "code-paths" in left.read_text()  # the new text, never renamed into place
    assert "code-paths" not in (code / "pyproject.toml").read_text()

    assert cli("node", "duplicate", "clean", "--tag", "copy", "--pipeline", "baseline").code == 0
    assert not list((chain.nodes.path("copy") / "code").glob(".*.tmp"))
    assert cli("bundle", "export", "baseline", str(tmp_path / "bundle")).code == 0
    assert not [p for p in (tmp_path / "bundle").rglob("*.tmp")]

    assert "cut-short-writes" not in by_category(doctor(cli))  # a save may still be writing
    os.utime(left, (1_000_000_000, 1_000_000_000))
    (found,) = by_category(doctor(cli))["cut-short-writes"]
    assert found["subject"] == str(left) and "pyproject.toml" in found["what"]
    assert to_repair(doctor(cli, "--dry-run")).get("cut-short-writes") == 1
    assert cli("doctor", "--repair").code == 0
    assert not left.exists() and (code / "pyproject.toml").is_file()
    assert "cut-short-writes" not in by_category(doctor(cli))
