"""`nodepipe --version` and `nodepipe version [--json]`: the installed nodepipe's version,
read from the distribution's metadata (what ``pyproject.toml`` built), outside any workspace
too, through the real ``nodepipe`` program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))


def nodepipe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NODEPIPE_FORK_SERVER": "0"}
    env.pop("NODEPIPE_WORKSPACE", None)
    return subprocess.run(
        [NODEPIPE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_version_prints_the_installed_distributions_version(tmp_path: Path) -> None:
    installed = version("nodepipe")
    for args in (["--version"], ["version"], ["-w", str(tmp_path / "none"), "--version"]):
        shown = nodepipe(*args, cwd=tmp_path)  # no workspace here: none is needed
        assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"nodepipe {installed}\n", "")
    as_json = nodepipe("version", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {"version": installed}
    assert "--version" in nodepipe("--help", cwd=tmp_path).stdout
