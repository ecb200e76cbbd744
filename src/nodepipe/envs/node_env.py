"""Building a node's environment from its pyproject and lock, safely and cheaply.

- A new node's lock comes from the workspace lock cache when a node with the same pyproject was
  locked before, so creating a node resolves nothing.
- Copying a node copies its lock and syncs with ``--frozen`` (no resolution), hard-linking
  packages from the workspace uv cache.
- A sync builds a fresh relocatable environment beside the old one and swaps it in with
  renames only when it is complete; a marker written last records the lock it matches, so an
  interrupted sync never leaves an environment that a run trusts.
- A change of requirements (add, remove, upgrade, Python version) is made on the pyproject and
  lock; if uv fails (no index, nothing resolves), both files are put back as they were.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nodepipe.envs.interpreters import find_interpreter
from nodepipe.envs.uv import UvRunner

SYNC_MARKER = ".nodepipe-synced"
"""File in ``.venv`` holding the hash of the lock (and interpreter) it was last synced from."""
PYTHON_VERSION_FILE = ".python-version"

_StatKey = tuple[str, int, int, int]


def _stat_key(path: Path) -> _StatKey:
    """(path, mtime, size, inode), as ``workspace.file_state`` (not importable from here)."""
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _lock_identity(code_dir: Path, python: str) -> str:
    """What the sync marker holds: the hash of the lock and the interpreter synced with."""
    digest = hashlib.sha256((code_dir / "uv.lock").read_bytes())
    digest.update(python.encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=4096)
def _marks_lock(marker: Path, code_dir: Path, python: str, seen: tuple[_StatKey, _StatKey]) -> bool:
    """Whether the marker holds this lock's identity; remembered for the states ``seen`` of
    marker and lock, so a run of many nodes hashes each lock once."""
    return marker.read_text(encoding="utf-8") == _lock_identity(code_dir, python)


@dataclass(frozen=True, slots=True)
class NodeEnvironments:
    """Locks and syncs node environments (``code/uv.lock``, ``code/.venv``) with uv."""

    uv: UvRunner
    python: str
    """The workspace's default interpreter, for nodes without a ``.python-version``."""
    lock_cache_dir: Path

    def python_for(self, code_dir: Path) -> str:
        """The interpreter of this node: its ``.python-version`` request, else the default."""
        requested = code_dir / PYTHON_VERSION_FILE
        if requested.is_file():
            return find_interpreter(requested.read_text(encoding="utf-8").strip())
        return self.python

    def lock_pristine(self, code_dir: Path) -> None:
        """Lock a freshly written node project, reusing the lock of an identical pyproject.

        Only for node skeletons: their pyproject has no dependencies, so the lock cannot age.
        """
        python = self.python_for(code_dir)
        cached = self._cached_lock_path(code_dir, python)
        if cached.is_file():
            shutil.copyfile(cached, code_dir / "uv.lock")
            return
        self.lock(code_dir)
        self.lock_cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{secrets.token_hex(4)}.tmp")
        shutil.copyfile(code_dir / "uv.lock", temporary)
        temporary.replace(cached)

    def lock(self, code_dir: Path, upgrade: bool = False) -> None:
        """Resolve ``pyproject.toml`` into ``uv.lock`` (may reach the package index)."""
        args = ["lock", "--python", self.python_for(code_dir)]
        if upgrade:
            args.append("--upgrade")
        self.uv.run(args, cwd=code_dir, action="lock the environment")

    def sync(self, code_dir: Path, compile_bytecode: bool = False) -> None:
        """Make ``code_dir/.venv`` match ``uv.lock`` exactly, without resolving anything.

        The environment is built under a temporary name and swapped in when complete. Bytecode
        is not compiled by default: the node's first run writes it into the environment.
        """
        python = self.python_for(code_dir)
        compile_args = ["--compile-bytecode"] if compile_bytecode else []
        target = code_dir / ".venv"
        if not target.exists() and not target.is_symlink():
            # nothing to protect yet: build in place; the marker, written last, makes it trusted
            self.uv.run(
                ["sync", "--frozen", "--python", python, *compile_args],
                cwd=code_dir,
                action=f"sync the environment in {code_dir}",
                extra_env={"UV_PROJECT_ENVIRONMENT": str(target)},
            )
            (target / SYNC_MARKER).write_text(_lock_identity(code_dir, python), "utf-8")
            return
        building = code_dir / f".venv.building-{secrets.token_hex(4)}"
        try:
            self.uv.run(
                ["venv", "--relocatable", "--quiet", "--python", python, str(building)],
                cwd=code_dir,
                action=f"create an environment in {code_dir}",
            )
            self.uv.run(
                ["sync", "--frozen", "--python", python, *compile_args],
                cwd=code_dir,
                action=f"sync the environment in {code_dir}",
                extra_env={"UV_PROJECT_ENVIRONMENT": str(building)},
            )
            (building / SYNC_MARKER).write_text(_lock_identity(code_dir, python), "utf-8")
            _swap_in(building, target)
        finally:
            shutil.rmtree(building, ignore_errors=True)

    def use_shared(self, code_dir: Path, shared_dir: Path) -> None:
        """Point the node at a shared environment: ``.venv`` links to it, its lock is copied.

        The copied lock keeps the node's fingerprint following the shared environment.
        """
        self.ensure_synced(shared_dir)
        venv = code_dir / ".venv"
        if venv.is_symlink() or venv.is_file():
            venv.unlink()
        elif venv.exists():
            shutil.rmtree(venv)
        venv.symlink_to(os.path.relpath(shared_dir / ".venv", code_dir))
        lock = code_dir / "uv.lock"
        if not lock.exists() or lock.read_bytes() != (shared_dir / "uv.lock").read_bytes():
            shutil.copyfile(shared_dir / "uv.lock", lock)

    def ensure_synced(self, code_dir: Path, shared_dir: Path | None = None) -> bool:
        """Sync only when the lock changed since the last sync (a hash check otherwise).

        With ``shared_dir`` the node uses that shared environment instead of its own.
        Returns True when a sync was needed.
        """
        if shared_dir is not None:
            synced = self.ensure_synced(shared_dir)
            self.use_shared(code_dir, shared_dir)
            return synced
        if self.is_synced(code_dir):
            return False
        self.sync(code_dir)
        return True

    def is_synced(self, code_dir: Path) -> bool:
        """Whether the node's own environment was synced from its lock as it is now (two stats
        while nothing changed; a changed lock is hashed)."""
        marker = code_dir / ".venv" / SYNC_MARKER
        python = self.python_for(code_dir)
        try:
            seen = (_stat_key(marker), _stat_key(code_dir / "uv.lock"))
            return _marks_lock(marker, code_dir, python, seen)
        except OSError:
            return False

    def change(self, code_dir: Path, edit: Callable[[], None], sync: bool = True) -> None:
        """Apply ``edit`` (which edits pyproject/lock, usually through uv) all or nothing.

        If ``edit`` or the sync after it fails, pyproject.toml, uv.lock and .python-version
        are restored and the previous environment stays as it was.
        """
        with restored_on_failure(code_dir):
            edit()
            if sync:
                self.sync(code_dir)

    def run_uv(self, code_dir: Path, args: list[str], action: str) -> None:
        """A uv project command (``add``, ``remove``...) against this node's interpreter."""
        self.uv.run([*args, "--python", self.python_for(code_dir)], cwd=code_dir, action=action)

    def _cached_lock_path(self, code_dir: Path, python: str) -> Path:
        digest = hashlib.sha256((code_dir / "pyproject.toml").read_bytes())
        digest.update(python.encode())
        return self.lock_cache_dir / f"{digest.hexdigest()[:32]}.lock"


def _swap_in(built: Path, target: Path) -> None:
    """Replace ``target`` by ``built`` with two renames; the old one is removed afterwards."""
    old = target.with_name(f".venv.old-{secrets.token_hex(4)}")
    if target.exists():
        target.rename(old)
    built.rename(target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def restored_on_failure(code_dir: Path) -> Iterator[None]:
    names = ("pyproject.toml", "uv.lock", PYTHON_VERSION_FILE)
    saved = {name: (code_dir / name).read_bytes() for name in names if (code_dir / name).exists()}
    try:
        yield
    except BaseException:
        for name in names:
            path = code_dir / name
            if name in saved:
                path.write_bytes(saved[name])
            else:
                path.unlink(missing_ok=True)
        raise
