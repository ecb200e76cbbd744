"""The journal of operations in flight: finding what a killed nodepipe process left half-done.

An operation that changes several things outside one store transaction (building node folders,
editing a node's environment, deleting node folders) opens an entry under ``.nodepipe/staging``
before it touches anything:

```
<op-id>.lock          locked (flock) by the process doing the operation, as long as it runs
<op-id>/              the operation's scratch folder: staged copies, backups
<op-id>/intent.json   what it will do outside that folder, written (and flushed) beforehand
```

The kernel drops a process's locks when it dies, however it dies, so an entry whose lock another
process can take belongs to a dead process: the next command recovers it (each kind of operation
says how, see ``services.recovery``), then removes it. Finishing an operation removes its
folder, then its lock file. A scratch folder without a lock file never belongs to a live
operation (the lock is taken first), so it is only litter.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodepipe.domain.ids import new_id
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, write_atomic

LOCK_SUFFIX = ".lock"
FINISHED_SUFFIX = ".finished"
"""An operation's folder renamed so while it is removed: litter, never an operation."""
INTENT_FILE = "intent.json"


@dataclass
class Operation:
    """One operation in flight, owned by this process (or, when recovered, by a dead one)."""

    root: Path
    id: str
    kind: str
    intent: dict[str, Any] = field(default_factory=dict)
    _lock: int = -1
    discard: list[Path] = field(default_factory=list)
    """Paths removed once the operation is over: each moved into its folder after that folder
    is renamed (no longer an operation), so a kill while they are removed never makes
    recovery undo work that was done."""

    @property
    def folder(self) -> Path:
        """The operation's scratch folder (staged copies, backups)."""
        return self.root / self.id

    def record(self, **intent: Any) -> None:
        """Add to what the operation is about to do; on disk before this returns."""
        self.intent.update(intent)
        document = {"kind": self.kind, **self.intent}
        write_atomic(self.folder / INTENT_FILE, json.dumps(document, sort_keys=True))

    def release(self) -> None:
        """Let go of a recovered operation without ending it (its kind is unknown here)."""
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

    def finish(self) -> None:
        """The operation is over (done, undone or recovered): remove its traces. The folder is
        first renamed to a name no operation has (litter the next recovery removes): a kill
        while it is being removed must not leave half of it, which a recovery would take for an
        abandoned operation and undo work that was done (or fail on a file already gone)."""
        finished = self.root / f"{self.id}{FINISHED_SUFFIX}"
        if self.discard and self.folder.is_dir():  # a kill below leaves them to the next look
            with contextlib.suppress(OSError):  # a full disk: the operation still ends
                self.record(discard=[str(path) for path in self.discard])
        with contextlib.suppress(FileNotFoundError):
            self.folder.rename(finished)
        crash_point("journal.finishing")
        for index, path in enumerate(self.discard):
            if path.exists():
                try:
                    path.rename(finished / f"discarded-{index}")
                except OSError:  # another filesystem, or the folder was not renamed
                    shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(finished, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.root / f"{self.id}{LOCK_SUFFIX}").unlink()
        with contextlib.suppress(OSError):
            fsync_dir(self.root)
        self.release()


def begin(root: Path, kind: str, **intent: Any) -> Operation:
    """Open an operation of ``kind``: its lock taken, its scratch folder made, ``intent``
    written."""
    root.mkdir(parents=True, exist_ok=True)
    operation = Operation(root, new_id(), kind)
    operation._lock = _locked_new(root / f"{operation.id}{LOCK_SUFFIX}")
    while operation._lock < 0:  # taken over between its creation and our lock: a new one
        operation = Operation(root, new_id(), kind)
        operation._lock = _locked_new(root / f"{operation.id}{LOCK_SUFFIX}")
    try:
        operation.folder.mkdir()
        operation.record(**intent)
    except BaseException:
        operation.finish()
        raise
    return operation


@contextlib.contextmanager
def operation(root: Path, kind: str, **intent: Any) -> Iterator[Operation]:
    """An operation for the block: finished when the block ends, whether it succeeded or
    raised (the block undoes its own work on failure; a crash leaves it to recovery)."""
    started = begin(root, kind, **intent)
    try:
        yield started
    finally:
        started.finish()


def abandoned(root: Path) -> Iterator[Operation]:
    """Each operation whose process died, its lock now held by the caller, who recovers it
    and calls ``finish``. Litter (folders or locks of no operation) is removed on the way.
    An operation killed before it wrote its intent did nothing outside its folder: its
    ``kind`` is empty, and finishing it is all there is to do."""
    try:
        names = [entry.name for entry in root.iterdir()]
    except FileNotFoundError:
        return
    locks = {name.removesuffix(LOCK_SUFFIX) for name in names if name.endswith(LOCK_SUFFIX)}
    for name in names:
        if not name.endswith(LOCK_SUFFIX) and name not in locks:
            _remove_litter(root, name)
    for op_id in sorted(locks):
        found = _claim(root, op_id)
        if found is not None:
            yield found


def _locked_new(lock_path: Path) -> int:
    """Create ``lock_path`` and lock it: its descriptor, or -1 if another process took it as
    abandoned in the instant between (it then unlinked it: our lock holds a dead file)."""
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    if os.fstat(descriptor).st_nlink == 0:
        os.close(descriptor)
        return -1
    return descriptor


def _claim(root: Path, op_id: str) -> Operation | None:
    lock_path = root / f"{op_id}{LOCK_SUFFIX}"
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # its process lives: not ours to touch
        os.close(descriptor)
        return None
    if os.fstat(descriptor).st_nlink == 0:  # finished while we were looking
        os.close(descriptor)
        return None
    intent = read_intent(root / op_id / INTENT_FILE)
    kind = str(intent.pop("kind", ""))  # "": killed before its intent was written
    return Operation(root, op_id, kind, intent, descriptor)


def read_intent(path: Path) -> dict[str, Any]:
    """An operation's recorded intent (``kind`` included); empty when none was written yet
    (nothing was done outside its folder)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _remove_litter(root: Path, name: str) -> None:
    """Remove a folder or file that no operation owns (looked at again: a listing of a folder
    that changes meanwhile may miss a lock created just before)."""
    if (root / f"{name}{LOCK_SUFFIX}").exists():
        return
    path = root / name
    if path.is_dir() and not path.is_symlink():
        if name.endswith(FINISHED_SUFFIX):
            _discard_recorded(path)
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _discard_recorded(finished: Path) -> None:
    """Move into ``finished`` (an operation's folder once it ended, being removed as litter)
    the paths its operation recorded to discard and had not removed yet, killed in between:
    each is that operation's own (``Operation.discard``: a name no other operation uses)."""
    try:
        recorded = json.loads((finished / INTENT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    paths = recorded.get("discard", []) if isinstance(recorded, dict) else []
    for index, written in enumerate(paths if isinstance(paths, list) else []):
        path = Path(str(written))
        if not _discardable(path) or not (path.exists() or path.is_symlink()):
            continue
        try:
            path.rename(finished / f"discarded-{index}")
        except OSError:  # another filesystem: removed where it is, as ``finish`` does
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


_ASIDE = re.compile(r"\.[^/]+\.previous\.[0-9a-f]{8}")
"""The name of what an operation moves aside to discard once it ends: a snapshot replaced by
an update (``snapshots.refresh_paths``), ``.NAME.previous.<8 hex>``."""


def _discardable(path: Path) -> bool:
    """Whether a recorded path is one an operation may have left to discard: an absolute path
    named as an aside is, in a folder that is no link (a damaged or hostile record names
    nothing else)."""
    if not path.is_absolute() or ".." in path.parts or not _ASIDE.fullmatch(path.name):
        return False
    return not any(parent.is_symlink() for parent in path.parents)
