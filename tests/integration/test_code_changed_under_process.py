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

SETTLE = RACY_WINDOW_NS / 1e9 + 0.5

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import nodepipe
    from nodepipe.services.runs.service import RunRequest
    assert nodepipe.__file__.startswith(sys.argv[2]), nodepipe.__file__
    import shutil
    import time
    ws = nodepipe.open(sys.argv[1])

    def run():
        result = ws.runs.run(RunRequest("p", force=True))
        assert result.finished is not None and result.finished.completed == 1, result

    if sys.argv[3] == "upgrade-between":  # kept them, then is upgraded while it goes on
        run()  # what it keeps is written as the run ends
        cache = Path(sys.argv[1]) / ".nodepipe" / "cache"
        print(" ".join(sorted(p.name for p in cache.iterdir())))
        shutil.rmtree(cache)
        main = ws.nodes.path("only") / "code" / "main.py"  # something new to keep
        main.write_text("print('ran again')\\n")
    if sys.argv[3].startswith("upgrade"):  # the code on disk changes under this process
        module = Path(nodepipe.__file__).parent / "workspace" / "node_config.py"
        module.write_text(module.read_text() + "\\n# a newer version\\n")
    if sys.argv[3] == "upgrade-between":
        time.sleep(float(sys.argv[4]))  # the new main.py settles: it could be kept
    run()
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
    time.sleep(SETTLE)  # what the node holds settles: facts may be kept
    return tmp_path / "lab"


def _run_with_a_copy(tmp_path: Path, lab: Path, step: str) -> list[str]:
    """A run of ``p`` in a new process importing a fresh copy of nodepipe (edited after its
    import with ``step`` = "upgrade"; after a first run with "upgrade-between"):
    what the process printed (the cache files of that first run), "|", the cache files left."""
    copy = tmp_path / f"copy-{step}"
    source = Path(nodepipe.__file__).parent
    shutil.copytree(source, copy / "nodepipe", ignore=shutil.ignore_patterns("__pycache__"))
    time.sleep(0.2)  # the copy is older than a load can be confused with (LOAD_MARGIN_NS)
    cache = lab / ".nodepipe" / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(lab), str(copy), step, str(SETTLE)],
        capture_output=True,
        text=True,
        env={**_environment(), "PYTHONPATH": str(copy)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    left = sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []
    return [*done.stdout.split(), "|", *left]


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NODEPIPE_WORKSPACE"}


def test_a_process_whose_code_changed_under_it_keeps_no_checks_and_no_facts(
    tmp_path: Path, lab: Path
) -> None:
    kept = _run_with_a_copy(tmp_path, lab, "as-loaded")
    assert any(name.startswith("node-checks-") for name in kept), kept  # it keeps them...
    assert any(name.startswith("node-facts-") for name in kept), kept
    assert _run_with_a_copy(tmp_path, lab, "upgrade") == ["|"]  # ...but not after an upgrade


def test_a_process_that_kept_checks_and_facts_keeps_none_once_its_code_changed(
    tmp_path: Path, lab: Path
) -> None:
    before, _, after = " ".join(_run_with_a_copy(tmp_path, lab, "upgrade-between")).partition("|")
    assert "node-checks-" in before and "node-facts-" in before, before  # it kept them...
    assert after.split() == []  # ...and keeps none once its code changed on disk
