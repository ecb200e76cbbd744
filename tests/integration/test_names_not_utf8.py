"""Names that are not UTF-8: a file a node's code holds (Linux allows any bytes but ``/`` and
NUL; a file unpacked from an old Latin-1 archive is named so), and an argument of the command
line.

Before: a node whose ``code/`` held ``caf\\xe9.py`` could never run ("nodepipe could not run
it: 'utf-8' codec can't encode character '\\udce9'"): neither the list of modules to compile
nor the record of the code it ran with could be written; and ``nodepipe node show caf\\xe9``
ended in a traceback from the store's driver.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nodepipe
from integration.conftest import CliRunner, snapshot
from support.cli_process import NODEPIPE, nodepipe_process
from support.worlds import CHAIN, build_pipeline

LATIN_1_NAME = os.fsdecode(b"caf\xe9.py")
"""``café.py`` in Latin-1, as Python names it (the byte 0xE9 kept as ``\\udce9``)."""


def test_a_node_whose_code_holds_a_name_that_is_not_utf8_runs_and_is_restored_byte_for_byte(
    lab: nodepipe.Workspace,
) -> None:
    build_pipeline(lab, "baseline", CHAIN)
    code = lab.nodes.path(lab.nodes.get("clean", "baseline").id) / "code"
    (code / LATIN_1_NAME).write_bytes(b"VALUE = 1\n")

    ran = nodepipe_process(lab.root, "run", "baseline")
    assert ran.returncode == 0, ran.stderr
    assert "could not run it" not in ran.stdout + ran.stderr
    run_id = lab.runs.history("baseline", limit=1)[0].id

    restored = nodepipe_process(lab.root, "node", "restore", "clean", "--run", run_id, "--as", "c2")
    assert restored.returncode == 0, restored.stderr
    again = lab.nodes.path(lab.nodes.get("c2", "baseline").id) / "code"
    assert os.fsencode(again / LATIN_1_NAME).endswith(b"/caf\xe9.py")
    assert (again / LATIN_1_NAME).read_bytes() == b"VALUE = 1\n"


def test_an_argument_that_is_not_utf8_is_refused_before_anything_is_done(
    lab: nodepipe.Workspace, cli: CliRunner
) -> None:
    build_pipeline(lab, "baseline", CHAIN)
    before = snapshot(lab)
    refused = cli("node", "rename", "clean", os.fsdecode(b"caf\xe9"))
    assert refused.code == 2
    assert "argument 4 ('caf\\xe9') is not UTF-8 text" in refused.stderr
    assert snapshot(lab) == before

    # the program as a user runs it, the bytes as a shell passes them
    shown = subprocess.run(
        [NODEPIPE.encode(), b"-w", os.fsencode(lab.root), b"node", b"show", b"caf\xe9"],
        capture_output=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")},
    )
    assert shown.returncode == 2, shown.stderr
    assert b"is not UTF-8 text" in shown.stderr and b"Traceback" not in shown.stderr


def test_a_path_argument_in_utf8_beyond_ascii_is_taken(
    lab: nodepipe.Workspace, tmp_path: Path
) -> None:
    build_pipeline(lab, "baseline", CHAIN)
    exported = nodepipe_process(lab.root, "bundle", "export", "baseline", str(tmp_path / "café"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "café" / "pipeline.toml").is_file()
