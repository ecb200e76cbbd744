"""Building a node's environment from its pyproject and lock, reusing locks wherever possible.

A new node's lock comes from the workspace lock cache when a node with the same pyproject was
locked before, so creating a node resolves nothing; copying a node copies its lock and syncs
with ``--frozen`` (no resolution), hard-linking packages from the workspace uv cache.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from nodepipe.envs.uv import UvRunner


@dataclass(frozen=True, slots=True)
class NodeEnvironments:
    """Locks and syncs node environments (``code/uv.lock``, ``code/.venv``) with uv."""

    uv: UvRunner
    python: str
    lock_cache_dir: Path

    def lock_pristine(self, code_dir: Path) -> None:
        """Lock a freshly written node project, reusing the lock of an identical pyproject.

        Only for node skeletons: their pyproject has no dependencies, so the lock cannot age.
        """
        cached = self._cached_lock_path(code_dir)
        if cached.is_file():
            shutil.copyfile(cached, code_dir / "uv.lock")
            return
        self.uv.run(["lock", "--python", self.python], cwd=code_dir, action="lock the environment")
        self.lock_cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(".tmp")
        shutil.copyfile(code_dir / "uv.lock", temporary)
        temporary.replace(cached)

    def sync(self, code_dir: Path) -> None:
        """Make ``code_dir/.venv`` match ``uv.lock`` exactly, without resolving anything."""
        self.uv.run(
            ["sync", "--frozen", "--python", self.python],
            cwd=code_dir,
            action=f"sync the environment in {code_dir}",
        )

    def _cached_lock_path(self, code_dir: Path) -> Path:
        digest = hashlib.sha256((code_dir / "pyproject.toml").read_bytes())
        digest.update(self.python.encode())
        return self.lock_cache_dir / f"{digest.hexdigest()[:32]}.lock"
