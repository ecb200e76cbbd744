"""What a run records is what it ran with (audit2 F1): a lock relocked just before the launch,
or a file edited while the node waited, is recorded as it launched, in the run's environment
record and in the fingerprint kept with the outputs (real uv, offline, tiny local wheels)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.runs.service import RunRequest
from nodepipe.workspace.node_project import set_dependencies

USES_TOYPKG = """\
import toypkg, nodepipe_node as node
(node.data_dir() / "version.txt").write_text(toypkg.VERSION)
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_that_relocks_records_the_new_lock_and_is_up_to_date_after(
    chain: nodepipe.Workspace, offline_index: Path, cli: CliRunner
) -> None:
    assert cli("run", "baseline", "--only", "load").code == 0
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(USES_TOYPKG)
    set_dependencies(code / "pyproject.toml", ["toypkg==1.0"])  # by hand: the lock lags
    ran = cli("run", "baseline", "--only", "load", "--json")
    assert ran.code == 0, ran.stdout + ran.stderr
    run_id = json.loads(ran.stdout.splitlines()[0])["run_id"]  # the first of its events

    status = cli("status", "baseline", "--json").json()
    load = next(n for n in status["nodes"] if n["tag"] == "load")
    assert load["state"] == "completed" and load["reasons"] == [], load
    assert "load" not in cli("run", "baseline", "--only", "load", "--dry-run").stdout.split()

    shown = cli("runs", "--run", run_id, "--node", "load", "--json")
    assert shown.code == 0, shown.stderr
    past = shown.json()
    assert past["packages"] == {"toypkg": "1.0"}
    assert past["locks"]["uv"] == sha256(code / "uv.lock")

    chain.envs.remove("load", ["toypkg"])
    python = code / ".venv" / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import toypkg"], check=False).returncode != 0
    restored = cli("env", "restore", "load", "--run", run_id)
    assert restored.code == 0, restored.stderr
    assert subprocess.run([str(python), "-c", "import toypkg"], check=False).returncode == 0


def test_code_edited_while_a_node_waits_is_recorded_as_it_launched(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    """load (upstream) rewrites clean's main.py while clean waits for it: clean runs the new
    code, so its record and stored fingerprint hold the new code, not the planned one."""
    clean = chain.nodes.path("clean") / "code" / "main.py"
    clean.write_text("import nodepipe_node as node\n(node.data_dir() / 'v.txt').write_text('1')\n")
    load = chain.nodes.path("load") / "code" / "main.py"
    load.write_text(
        "import pathlib, nodepipe_node as node\n"
        f"target = pathlib.Path({str(clean)!r})\n"
        "target.write_text(target.read_text().replace(\"'1'\", \"'2'\"))\n"
        "(node.data_dir() / 'seed.txt').write_text('seed')\n"
    )
    result = chain.runs.run(RunRequest("baseline", to=["clean"]))
    assert result.finished is not None and result.finished.failed == 0
    assert (chain.nodes.path("clean") / "data" / "v.txt").read_text() == "2"
    past = chain.run_envs.show("clean", result.run_id or "")
    assert past.files["main.py"] == sha256(clean)
    status = {s.item.node.tag: s for s in chain.runs.status("baseline").nodes.values()}
    assert not status["clean"].reasons, status["clean"].reasons
    made = cli("node", "restore", "clean", "--run", result.run_id or "", "--as", "then")
    assert made.code == 0, made.stderr
    assert "'2'" in (chain.nodes.path("then") / "code" / "main.py").read_text()
