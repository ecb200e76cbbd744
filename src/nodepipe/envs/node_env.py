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

SYNC_MARKER = ".nodepipe-synced"
"""File in ``.venv`` holding the hash of the lock (and interpreter) it was last synced from."""


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

    def lock(self, code_dir: Path) -> None:
        """Resolve ``pyproject.toml`` into ``uv.lock`` (may reach the package index)."""
        self.uv.run(["lock", "--python", self.python], cwd=code_dir, action="lock the environment")

    def sync(self, code_dir: Path) -> None:
        """Make ``code_dir/.venv`` match ``uv.lock`` exactly, without resolving anything."""
        self.uv.run(
            ["sync", "--frozen", "--python", self.python],
            cwd=code_dir,
            action=f"sync the environment in {code_dir}",
        )
        marker = code_dir / ".venv" / SYNC_MARKER
        marker.write_text(self._lock_identity(code_dir), encoding="utf-8")

    def ensure_synced(self, code_dir: Path) -> bool:
        """Sync only when the lock changed since the last sync (a hash check otherwise).

        Returns True when a sync was needed.
        """
        marker = code_dir / ".venv" / SYNC_MARKER
        try:
            if marker.read_text(encoding="utf-8") == self._lock_identity(code_dir):
                return False
        except OSError:
            pass
        self.sync(code_dir)
        return True

    def _lock_identity(self, code_dir: Path) -> str:
        digest = hashlib.sha256((code_dir / "uv.lock").read_bytes())
        digest.update(self.python.encode())
        return digest.hexdigest()

    def _cached_lock_path(self, code_dir: Path) -> Path:
        digest = hashlib.sha256((code_dir / "pyproject.toml").read_bytes())
        digest.update(self.python.encode())
        return self.lock_cache_dir / f"{digest.hexdigest()[:32]}.lock"
