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
