"""A process whose nodepipe code changed on disk after it loaded it keeps nothing across
processes (``check_cache_file.code_identity``): the node-check cache and the kept facts name
the code that wrote them by its files, and a process running the old code of an upgrade must
not write its entries under the new code's name (the next process, running the new code,
would trust them), nor trust the new code's entries.

The upgrade is real: a copy of nodepipe's source is imported by a new process, which then
edits one module of the copy that decides both caches, and runs a pipeline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nodepipe
from nodepipe.workspace.file_digests import RACY_WINDOW_NS

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import nodepipe
    from nodepipe.services.runs.service import RunRequest
    assert nodepipe.__file__.startswith(sys.argv[2]), nodepipe.__file__
    ws = nodepipe.open(sys.argv[1])
    if sys.argv[3] == "upgrade":  # the code on disk changes under this process
        module = Path(nodepipe.__file__).parent / "workspace" / "node_config.py"
        module.write_text(module.read_text() + "\\n# a newer version\\n")
    result = ws.runs.run(RunRequest("p", force=True))
    assert result.finished is not None and result.finished.completed == 1, result
    ws.close()
    """
)


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    ws = nodepipe.init(tmp_path / "lab")
    ws.pipelines.new("p")
    ws.nodes.new("p", "only")
    (ws.nodes.path("only") / "code" / "main.py").write_text("print('ran')\n")
    ws.close()
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)  # what the node holds settles: facts may be kept
    return tmp_path / "lab"


def _run_with_a_copy(tmp_path: Path, lab: Path, step: str) -> list[str]:
    """A run of ``p`` in a new process importing a fresh copy of nodepipe (edited after its
    import with ``step`` = "upgrade"): the cache files it left."""
    copy = tmp_path / f"copy-{step}"
    source = Path(nodepipe.__file__).parent
    shutil.copytree(source, copy / "nodepipe", ignore=shutil.ignore_patterns("__pycache__"))
    cache = lab / ".nodepipe" / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(lab), str(copy), step],
        capture_output=True,
        text=True,
        env={**_environment(), "PYTHONPATH": str(copy)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NODEPIPE_WORKSPACE"}


def test_a_process_whose_code_changed_under_it_keeps_no_checks_and_no_facts(
    tmp_path: Path, lab: Path
) -> None:
    kept = _run_with_a_copy(tmp_path, lab, "as-loaded")
    assert any(name.startswith("node-checks-") for name in kept), kept  # it keeps them...
    assert any(name.startswith("node-facts-") for name in kept), kept
    assert _run_with_a_copy(tmp_path, lab, "upgrade") == []  # ...but not after an upgrade
