"""A node's code run by hand, as the README says: from its ``code/`` folder, with the import
path a run gives it (``nodepipe node path NODE --import-path``), the helper falls back to the
node's folders and says so."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner
from nodepipe.services.runs.service import RunRequest

MAIN = """\
import nodepipe_node as node
print(node.node_id())
print(node.data_dir())
"""


def test_a_node_run_by_hand_imports_the_helper_and_finds_its_folders(
    chain: nodepipe.Workspace, cli: CliRunner
) -> None:
    code = chain.nodes.path("clean") / "code"
    (code / "main.py").write_text(MAIN)
    printed = cli("node", "path", "clean", "--import-path")
    assert printed.code == 0, printed.stderr
    import_path = printed.stdout.strip()
    assert (Path(import_path.split(os.pathsep)[0]) / "nodepipe_node.py").is_file()

    by_hand = subprocess.run(
        [str(code / ".venv" / "bin" / "python"), "main.py"],
        cwd=code,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": import_path},
        capture_output=True,
        text=True,
    )
    assert by_hand.returncode == 0, by_hand.stderr
    assert by_hand.stdout.split() == [chain.nodes.get("clean").id, str(code.parent / "data")]
    assert "not run by nodepipe" in by_hand.stderr


def test_the_import_path_by_hand_is_the_one_a_run_gives(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-code"
    shared.mkdir()
    (shared / "helpers.py").write_text("ANSWER = 42\n")
    assert cli("env", "code-path", "add", "clean", str(shared)).code == 0
    code = chain.nodes.path("clean") / "code"
    (code / "main.py").write_text(
        "import os, nodepipe_node, helpers\nprint(os.environ['PYTHONPATH'])\n"
    )
    ran = chain.runs.run(RunRequest("baseline"))
    assert ran.finished is not None and ran.finished.status == "completed"
    log = (code.parent / "logs" / "latest.log").read_text()
    by_hand = cli("node", "path", "clean", "--import-path").stdout.strip()
    assert by_hand in log.splitlines()


def test_a_code_path_that_would_read_as_two_folders_is_refused(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    odd = tmp_path / "odd:dir"
    odd.mkdir()
    (odd / "oddmod.py").write_text("X = 1\n")
    pyproject = chain.nodes.path("clean") / "code" / "pyproject.toml"
    before = pyproject.read_bytes()
    refused = cli("env", "code-path", "add", "clean", str(odd))
    assert refused.code == 2, refused.stderr
    assert "cannot go on a PYTHONPATH" in refused.stderr
    linked = tmp_path / "linked"
    linked.symlink_to(odd)  # the folder it leads to is what would be recorded
    assert cli("env", "code-path", "add", "clean", str(linked)).code == 2
    assert pyproject.read_bytes() == before
