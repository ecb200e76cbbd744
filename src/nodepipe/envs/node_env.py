"""Building a node's environment from its pyproject and lock, safely and cheaply.

- A new node's lock comes from the workspace lock cache when a node with the same pyproject was
  locked before, so creating a node resolves nothing.
- Copying a node copies its lock and syncs with ``--frozen`` (no resolution), hard-linking
  packages from the workspace uv cache.
- A sync builds a fresh relocatable environment beside the old one and swaps it in with
  renames only when it is complete; a marker written last records the lock it matches, so an
  interrupted sync never leaves an environment that a run trusts.
- A change of requirements (add, remove, upgrade, Python version) is made on the pyproject and
  lock; if uv fails (no index, nothing resolves), or the process is killed meanwhile, both files
  are put back as they were (``envs.edits``).
- Before a run, a lock out of step with its pyproject (a requirement edited by hand) is
  relocked: the marker also records the requirements the lock was found to satisfy. Only a
  lock checked against them (``uv lock --check``) or made from them is marked so: a sync of a
  lock copied from another node, or written back from a past run, marks nothing, and the
  node's next run checks it (and relocks it if it fell behind).
- Syncs are journaled: what a killed sync leaves beside ``.venv`` is removed by the next command.
- A node with a ``conda.lock`` also gets its conda prefix made to match it by every sync
  (``envs.conda``); a node without one never needs py-rattler.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodepipe.domain.errors import Action, EnvironmentBuildError, Hint, WorkspaceError
from nodepipe.envs.edits import all_or_nothing
from nodepipe.envs.interpreters import find_interpreter
from nodepipe.envs.members import (
    built_identity,
    member_dirs,
    member_requirements,
    reinstalled,
)
from nodepipe.envs.uv import UvRunner
from nodepipe.workspace import journal
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, write_atomic
from nodepipe.workspace.file_state import FileState, file_state, file_state_or_none, latest_per_key
from nodepipe.workspace.kept_facts import facts_for, now_ns, settled
from nodepipe.workspace.node_config import read_pyproject

if TYPE_CHECKING:
    from nodepipe.envs.conda import CondaEnvironments

SYNC_MARKER = ".nodepipe-synced"
"""File in ``.venv``: the identity of the lock (and interpreter) it was last synced from, of
the requirements in pyproject.toml that lock was found to satisfy, of the folder builds it
installed and of the start-up files it was left with (``startup_identity``)."""
PYTHON_VERSION_FILE = ".python-version"
FROZEN_LOCK = "frozen-lock"
"""Under ``[tool.nodepipe]``: ``true`` refuses relocking a lock out of step before a run."""
SYNC_KIND = "environment-sync"
"""Journal operations of syncs: their building and old environments, removed after a crash."""

_SYNC_FACT = "synced"
"""The kind of ``kept_facts`` entry ``_sync_state`` keeps, by ``code/`` folder."""

_REQUIREMENT_KEYS = ("dependencies", "optional-dependencies", "requires-python")


def _lock_identity(code_dir: Path, python: str) -> str:
    """The hash of the lock and the interpreter synced with."""
    digest = hashlib.sha256((code_dir / "uv.lock").read_bytes())
    digest.update(python.encode())
    return digest.hexdigest()


def requirements_identity(code_dir: Path) -> str:
    """The hash of what in ``pyproject.toml`` decides the lock: requirements, Python range,
    dependency groups and ``[tool.uv]`` (sources, indexes), and the same of every project it
    installs from a folder (a snapshot's new requirement); not nodepipe's own settings."""
    data = read_pyproject(code_dir / "pyproject.toml", shared=True)
    project = data.get("project", {})
    relevant = {
        "project": {key: project.get(key) for key in _REQUIREMENT_KEYS},
        "dependency-groups": data.get("dependency-groups"),
        "uv": data.get("tool", {}).get("uv"),
        "members": member_requirements(code_dir),
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def _marker_text(code_dir: Path, python: str, lock_checked: bool, venv: Path) -> str:
    """The lock synced from, the requirements it was checked to satisfy (empty when it was
    not: a frozen sync of a copied or restored lock), the folder builds synced, the start-up
    files of the environment ``venv`` as the sync left them."""
    checked = requirements_identity(code_dir) if lock_checked else ""
    lines = (_lock_identity(code_dir, python), checked, built_identity(code_dir))
    return "\n".join((*lines, startup_identity(venv))) + "\n"


def startup_identity(venv: Path) -> str:
    """One hash of the ``.pth`` files of the environment's ``site-packages`` (names and
    contents): what Python reads at every start to put folders on the import path, such as
    the one an editable install points at (``_editable_impl_mytool.pth`` holding
    ``/home/me/src/mytool/src``). Edited by hand, the node would run other code than the
    folder its fingerprint hashes; a sync writes them anew."""
    found: dict[str, str] = {}
    for file in _startup_files(venv):
        try:
            content = file.read_bytes()
        except OSError:
            content = b"?"  # unreadable: Python skips it, and so does this hash
        found[f"{file.parent.name}/{file.name}"] = hashlib.sha256(content).hexdigest()
    return hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()


def _startup_files(venv: Path) -> list[Path]:
    """The ``.pth`` files (regular files: never a FIFO) of the environment's site-packages."""
    found: list[Path] = []
    for site in (*venv.glob("lib/python*/site-packages"), *venv.glob("Lib/site-packages")):
        try:
            entries = list(os.scandir(site))
        except OSError:
            continue
        found += [Path(e.path) for e in entries if e.name.endswith(".pth") and e.is_file()]
    return found


def _own_startup_files(venv: Path) -> None:
    """Give the environment its own copy of each ``.pth`` file uv hard-linked from the
    workspace's uv cache: edited in place, a shared one would change the cache's copy, so
    every environment synced from it (another node's, this one's next) would point where the
    edit said, and no sync would undo it."""
    for file in _startup_files(venv):
        if file.stat().st_nlink > 1:
            write_atomic(file, file.read_bytes(), durable=False)


@latest_per_key(lambda code_dir, python, seen: (code_dir, python))
def _sync_state(
    code_dir: Path, python: str, seen: tuple[FileState, ...]
) -> tuple[bool, bool, str, str]:
    """(environment synced from this lock, lock known to satisfy these requirements, the
    identity of the folder builds it was synced with, and of the start-up files it was left
    with: "" from a marker written before nodepipe recorded them), by the marker; remembered
    for the states ``seen`` of marker, lock and pyproject, so a run of many nodes hashes each
    lock once and reads each marker once; kept across processes too (``workspace.kept_facts``),
    so a run in a new process does not read them again while they stat as they did."""
    facts = facts_for(str(code_dir.parent))
    states: list[Any] = [[python], *([*state] if state is not None else None for state in seen)]
    if facts is not None:
        kept = facts.get(_SYNC_FACT, str(code_dir), states)
        if (
            isinstance(kept, list)
            and len(kept) == 4
            and isinstance(kept[0], bool)
            and isinstance(kept[1], bool)
            and isinstance(kept[2], str)
            and isinstance(kept[3], str)
        ):
            return kept[0], kept[1], kept[2], kept[3]
    began = now_ns()
    marked = (code_dir / ".venv" / SYNC_MARKER).read_text(encoding="utf-8").split("\n")
    synced = marked[0] == _lock_identity(code_dir, python)
    # what the marker says of the requirements holds for the lock it was written with only
    in_step = synced and len(marked) > 1 and marked[1] == requirements_identity(code_dir)
    built = marked[2] if len(marked) > 2 else ""
    startup = marked[3] if len(marked) > 3 else ""
    stamps = [stamp for state in seen if state is not None for stamp in (state[1], state[4])]
    if facts is not None and settled(stamps, began):
        facts.put(_SYNC_FACT, str(code_dir), states, [synced, in_step, built, startup])
    return synced, in_step, built, startup


@functools.cache  # one entry per node: sized to the workspace
def _sync_inputs(code_dir: Path) -> tuple[Path, Path, Path]:
    """The files a node's sync state is read from: its marker, lock and pyproject."""
    return (code_dir / ".venv" / SYNC_MARKER, code_dir / "uv.lock", code_dir / "pyproject.toml")


def _built_in_step(code_dir: Path, marked: str, members: dict[str, tuple[Path, bool]]) -> bool:
    """Whether the packages built from folders were built from those folders as they are
    (hashed on each check, with the stat cache of the process, only for nodes that have any);
    ``marked``: what the marker says they were built from."""
    return marked == built_identity(code_dir, members)


def _startup_in_step(code_dir: Path, marked: str) -> bool:
    """Whether the environment's start-up files are as its last sync left them (read at each
    check: a ``.pth`` edited in place changes no file the marker's state is kept by);
    ``marked``: what the marker says, "" when it says nothing (written before)."""
    return not marked or marked == startup_identity(code_dir / ".venv")


@dataclass(frozen=True, slots=True)
class NodeEnvironments:
    """Locks and syncs node environments (``code/uv.lock``, ``code/.venv``) with uv."""

    uv: UvRunner
    python: str
    """The workspace's default interpreter, for nodes without a ``.python-version``."""
    lock_cache_dir: Path
    journal_dir: Path
    """The workspace journal: edits and syncs that a killed process leaves are undone."""
    conda_cache_dir: Path
    """The workspace's conda package cache (``envs.conda``)."""

    @property
    def conda(self) -> CondaEnvironments:
        """The conda part of node environments (``envs.conda``: imported by what syncs or
        checks an environment, not by every command)."""
        from nodepipe.envs.conda import CondaEnvironments

        return CondaEnvironments(self.conda_cache_dir, self.journal_dir)

    def python_for(self, code_dir: Path) -> str:
        """The interpreter of this node: its ``.python-version`` request, else the default."""
        requested = code_dir / PYTHON_VERSION_FILE
        if requested.is_file():
            return find_interpreter(requested.read_text(encoding="utf-8").strip())
        if not os.access(self.python, os.X_OK):
            raise WorkspaceError(
                f"the workspace's default Python {self.python} ([python] interpreter in "
                "nodepipe.toml) is not there or cannot be run: point it at an installed "
                "Python 3, or give the node a Python of its own"
            )
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
        write_atomic(cached, (code_dir / "uv.lock").read_bytes())

    def lock(self, code_dir: Path, upgrade: bool = False) -> None:
        """Resolve ``pyproject.toml`` into ``uv.lock`` (may reach the package index)."""
        args = ["lock", "--python", self.python_for(code_dir)]
        if upgrade:
            args.append("--upgrade")
        self.uv.run(args, cwd=code_dir, action="lock the environment")

    def sync(
        self, code_dir: Path, compile_bytecode: bool = False, lock_checked: bool = False
    ) -> None:
        """Make ``code_dir/.venv`` match ``uv.lock`` exactly, without resolving anything.

        The environment is built under a temporary name and swapped in when complete. Bytecode
        is not compiled by default: the node's first run writes it into the environment.
        ``lock_checked``: the lock is known to satisfy the pyproject (just made or checked);
        otherwise the marker leaves that to the next ``ensure_synced``.
        """
        python = self.python_for(code_dir)
        target = code_dir / ".venv"
        self.conda.ensure_installed(code_dir)
        if not target.exists() and not target.is_symlink():
            # nothing to protect yet: build in place; the marker, written last, makes it trusted
            self._uv_sync(code_dir, target, python, compile_bytecode, lock_checked)
            return
        token = os.urandom(4).hex()
        building = code_dir / f".venv.building-{token}"
        old = code_dir / f".venv.old-{token}"
        leftovers = [str(building), str(old)]
        with journal.operation(self.journal_dir, SYNC_KIND, leftovers=leftovers):
            try:
                self.uv.run(
                    ["venv", "--relocatable", "--quiet", "--python", python, str(building)],
                    cwd=code_dir,
                    action=f"create an environment in {code_dir}",
                )
                self._uv_sync(code_dir, building, python, compile_bytecode, lock_checked)
                crash_point("sync.built")
                _swap_in(building, target, old)
            finally:
                shutil.rmtree(building, ignore_errors=True)

    def _uv_sync(
        self, code_dir: Path, venv: Path, python: str, compile_bytecode: bool, lock_checked: bool
    ) -> None:
        compile_args = ["--compile-bytecode"] if compile_bytecode else []
        self.uv.run(
            ["sync", "--frozen", "--python", python, *compile_args, *reinstalled(code_dir)],
            cwd=code_dir,
            action=f"sync the environment in {code_dir}",
            extra_env={"UV_PROJECT_ENVIRONMENT": str(venv)},
        )
        _own_startup_files(venv)
        write_atomic(venv / SYNC_MARKER, _marker_text(code_dir, python, lock_checked, venv))

    def use_shared(self, code_dir: Path, shared_dir: Path) -> None:
        """Point the node at a shared environment: ``.venv`` links to it, its lock is copied.

        The copied lock keeps the node's fingerprint following the shared environment.
        """
        self.ensure_synced(shared_dir)
        venv = code_dir / ".venv"
        link = os.path.relpath(shared_dir / ".venv", code_dir)
        if not _links_to(venv, link):  # linked already (each run): not made again
            if venv.is_symlink() or venv.is_file():
                venv.unlink()
            elif venv.exists():
                shutil.rmtree(venv)
            venv.symlink_to(link)
        lock = code_dir / "uv.lock"
        if not lock.exists() or lock.read_bytes() != (shared_dir / "uv.lock").read_bytes():
            write_atomic(lock, (shared_dir / "uv.lock").read_bytes())

    def ensure_synced(self, code_dir: Path, shared_dir: Path | None = None) -> bool:
        """Sync only when the lock changed since the last sync (a hash check otherwise).

        A lock out of step with ``pyproject.toml`` (edited by hand, or an edit killed halfway)
        is relocked first. With ``shared_dir`` the node uses that shared environment instead of
        its own. Returns True when a sync was needed.
        """
        if shared_dir is not None:
            synced = self.ensure_synced(shared_dir)
            self.use_shared(code_dir, shared_dir)
            return synced
        conda_changed = self.conda.ensure_installed(code_dir)
        synced, in_step = self.sync_state(code_dir)
        if synced and in_step:
            return conda_changed
        if not in_step:
            lock_before = _read_or_none(code_dir / "uv.lock")
            self._bring_lock_in_step(code_dir)
            synced = synced and _read_or_none(code_dir / "uv.lock") == lock_before
        if synced:  # the lock was right after all: only the marker learns it
            self._mark_in_step(code_dir)
            return False
        self.sync(code_dir, lock_checked=True)
        return True

    def is_synced(self, code_dir: Path, shared_dir: Path | None = None) -> bool:
        """Whether the node's own environment was synced from its lock as it is now, and that
        lock satisfies the pyproject as it is now (three stats while nothing changed), and its
        conda prefix, if any, matches its conda lock. With ``shared_dir``: whether that shared
        environment is, and the node uses it already (its ``.venv`` links to it, its lock is
        the shared one's): ``ensure_synced`` would change nothing."""
        if shared_dir is not None:
            return self.is_synced(shared_dir) and _uses_shared(code_dir, shared_dir)
        return self.sync_state(code_dir) == (True, True) and self.conda.is_current(code_dir)

    def sync_state(self, code_dir: Path) -> tuple[bool, bool]:
        """(synced from the current lock, lock in step with the current pyproject)."""
        python = self.python_for(code_dir)
        try:
            seen = tuple(file_state(path) for path in _sync_inputs(code_dir))
            folders = member_dirs(code_dir)
            members = tuple(file_state_or_none(f / "pyproject.toml") for f, _ in folders.values())
            synced, in_step, built, startup = _sync_state(code_dir, python, (*seen, *members))
            synced = synced and _built_in_step(code_dir, built, folders)
            return synced and _startup_in_step(code_dir, startup), in_step
        except OSError:
            return False, False

    def bring_lock_in_step(self, code_dir: Path) -> None:
        """Relock when the lock is out of step with the pyproject (or a project it installs
        from a folder); EnvironmentBuildError when it cannot be, or the user froze it."""
        if not self.sync_state(code_dir)[1]:
            lock_before = _read_or_none(code_dir / "uv.lock")
            self._bring_lock_in_step(code_dir)
            if _read_or_none(code_dir / "uv.lock") == lock_before and self.sync_state(code_dir)[0]:
                self._mark_in_step(code_dir)  # checked: the next look needs no uv

    def _mark_in_step(self, code_dir: Path) -> None:
        """The environment was synced from this lock, now known to satisfy the pyproject."""
        python = self.python_for(code_dir)
        venv = code_dir / ".venv"
        write_atomic(venv / SYNC_MARKER, _marker_text(code_dir, python, True, venv))

    def _bring_lock_in_step(self, code_dir: Path) -> None:
        """Relock when the lock no longer satisfies the pyproject (checked offline first)."""
        python = self.python_for(code_dir)
        try:
            self.uv.run(
                ["lock", "--check", "--offline", "--python", python],
                cwd=code_dir,
                action="check the lock",
            )
            return
        except EnvironmentBuildError:
            pass
        if _frozen(code_dir):
            raise EnvironmentBuildError(
                f"the lock of {code_dir} is out of step with its pyproject.toml (or with a "
                f"project it installs from a folder, such as a snapshot), and it is frozen "
                f"({FROZEN_LOCK} = true under [tool.nodepipe]): nodepipe does not relock it",
                hint=Hint(Action.ENV_RELOCK, {"node": code_dir.parent.name}),
            )
        lock = code_dir / "uv.lock"
        before = lock.read_bytes() if lock.is_file() else None
        try:
            self.change(code_dir, lambda: self.lock(code_dir), sync=False)
        except EnvironmentBuildError as exc:
            raise EnvironmentBuildError(
                f"the lock of {code_dir} is out of step with its pyproject.toml and could not "
                f"be relocked: {exc}"
            ) from exc
        from nodepipe.workspace.included_record import follow_own_rewrite  # rare: not at import

        follow_own_rewrite(code_dir, "uv.lock", before)  # not an edit of an include's node

    def change(
        self,
        code_dir: Path,
        edit: Callable[[], None],
        sync: bool = True,
        creates: Sequence[Path] = (),
        moved: Sequence[tuple[Path, Path]] = (),
        kept: Sequence[tuple[Path, Path]] = (),
    ) -> None:
        """Apply ``edit`` (which edits pyproject/lock, usually through uv) all or nothing.

        If ``edit`` or the sync after it fails, or the process is killed meanwhile,
        pyproject.toml, uv.lock and .python-version are restored (``creates`` removed,
        ``moved`` and ``kept`` folders put back: see ``all_or_nothing``); the previous
        environment stays as it was.
        """
        with all_or_nothing(self.journal_dir, [code_dir], creates, moved, kept):
            edit()
            if sync:
                self.sync(code_dir)

    def run_uv(self, code_dir: Path, args: list[str], action: str, cwd: Path | None = None) -> None:
        """A uv project command (``add``, ``remove``...) against this node's interpreter; run
        in ``cwd`` (the node's ``code/`` by default), where relative paths it reads start."""
        python = ["--python", self.python_for(code_dir)]
        if cwd is None:
            self.uv.run([*args, *python], cwd=code_dir, action=action)
        else:
            self.uv.run([*args, *python, "--project", str(code_dir)], cwd=cwd, action=action)

    def _cached_lock_path(self, code_dir: Path, python: str) -> Path:
        digest = hashlib.sha256((code_dir / "pyproject.toml").read_bytes())
        digest.update(python.encode())
        return self.lock_cache_dir / f"{digest.hexdigest()[:32]}.lock"


def _swap_in(built: Path, target: Path, old: Path) -> None:
    """Replace ``target`` by ``built`` with two renames; the old one is removed afterwards."""
    if target.exists() or target.is_symlink():
        target.rename(old)
        crash_point("sync.swapping")
    built.rename(target)
    fsync_dir(target.parent)
    if old.is_symlink():
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)


def recover_sync(operation: journal.Operation) -> None:
    """Remove what an abandoned sync left: its half-built and its replaced environment."""
    for leftover in operation.intent.get("leftovers", []):
        path = Path(leftover)
        if path.is_symlink():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)


def _frozen(code_dir: Path) -> bool:
    """Whether the user froze the node's lock: never relocked behind their back."""
    data = read_pyproject(code_dir / "pyproject.toml", shared=True)
    section = data.get("tool", {}).get("nodepipe", {})
    return isinstance(section, dict) and section.get(FROZEN_LOCK) is True


def _links_to(venv: Path, link: str) -> bool:
    """Whether ``venv`` is a symbolic link reading ``link``."""
    try:
        return str(venv.readlink()) == link
    except OSError:  # missing, or not a link
        return False


def _uses_shared(code_dir: Path, shared_dir: Path) -> bool:
    """Whether the node's ``.venv`` links to the shared environment and its lock is a copy of
    the shared one's (what ``use_shared`` makes)."""
    if not _links_to(code_dir / ".venv", os.path.relpath(shared_dir / ".venv", code_dir)):
        return False
    lock = _read_or_none(code_dir / "uv.lock")
    return lock is not None and lock == _read_or_none(shared_dir / "uv.lock")


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
