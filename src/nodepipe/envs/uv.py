"""Running the uv binary that ships with the ``uv`` Python package, with the workspace's cache."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nodepipe.domain.errors import EnvironmentBuildError

# Variables from the caller's shell that would point uv at the wrong environment or config.
_SCRUBBED = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "CONDA_PREFIX", "PYTHONHOME")


@cache
def uv_binary() -> str:
    """Path of the uv executable installed with nodepipe (never whatever is on PATH)."""
    from uv import find_uv_bin

    return find_uv_bin()


@dataclass(frozen=True, slots=True)
class UvRunner:
    """Runs uv commands against one workspace cache, never downloading interpreters."""

    cache_dir: Path

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
        env.update(
            UV_CACHE_DIR=str(self.cache_dir),
            UV_LINK_MODE="hardlink",
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
        )
        return env

    def run(
        self, args: Sequence[str], cwd: Path, action: str, extra_env: dict[str, str] | None = None
    ) -> str:
        """Run ``uv args`` in ``cwd``; raise EnvironmentBuildError naming ``action`` on failure."""
        try:
            completed = subprocess.run(
                [uv_binary(), *args],
                cwd=cwd,
                env={**self.environment(), **(extra_env or {})},
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise EnvironmentBuildError(f"could not start uv to {action}: {exc}") from exc
        if completed.returncode != 0:
            detail = (completed.stderr or completed.stdout).strip()
            raise EnvironmentBuildError(f"uv failed to {action}:\n{detail}")
        return completed.stdout
