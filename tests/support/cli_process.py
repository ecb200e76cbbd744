"""``nodepipe`` run as a process of its own, as a user's shell runs it: with a time limit (a
command that waits for ever fails the test instead of hanging the suite), none of the test's
``NODEPIPE_*`` variables, and optionally killed at a named crash point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nodepipe.workspace.crash_points import CRASH_ENV

NODEPIPE = str(Path(sys.executable).with_name("nodepipe"))


def nodepipe_process(
    root: Path, *argv: str, crash_at: str = "", timeout: float = 180, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``nodepipe -w ROOT ARGV…``, its output captured, ``stdin`` its input; SIGKILLed at
    ``crash_at`` if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPIPE_")}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [NODEPIPE, "-w", str(root), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )
