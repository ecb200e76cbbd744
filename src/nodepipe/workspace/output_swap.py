"""Outputs are never half-written: a run writes a staging folder that replaces data/ on success.

```
<node>/data/                    the last good outputs
<node>/.staging/<run>/          what the running node writes (NODEPIPE_DATA_DIR)
<node>/.staging/<run>.promoting the promotion's intent: run, output digest, fingerprint
<node>/.staging/<run>.previous  the old data/, kept until the store has recorded the new one
<node>/.intent-spare            the file of the last finished intent, written over by the next
```
Promotion writes the intent, then swaps with two renames on one filesystem. The old outputs
stay aside until the store has recorded the run (``finish_promotion``), so whatever instant
the orchestrator dies at, the files alone tell (``promoted``) which side of the swap it was on:
the new outputs are whole in data/ (the intent says with what digest and fingerprint, so the
store is brought up to date: rolled forward), or they are not, and ``undo`` puts data/ back as
the store records it (rolled back). Never is the only good copy deleted. A data/ that is not
a folder of the node's own (a link to a folder elsewhere, a file) is refused before the node
starts, naming it: moved aside, it would be left there.

Durability against a power cut is paid once per batch of recorded runs, not per node: the
run's recorder flushes the whole filesystem (``sync_filesystem``) before it commits, so what
the store records as completed is on disk; it removes old outputs after the commit, flushes
again, and only then the intents. A swap that a power cut half-kept is therefore never taken
for a recorded one: roll-forward checks the outputs' digest against the intent, and without a
recorded promotion the previous outputs come back. (An fsync per file and folder before each
rename cost a tenth of a trivial node's run on these disks.)

When data/ is empty there is nothing to keep: the empty folder itself is moved to become the
staging folder, and moved back on success. Creating and deleting a folder per node run is what
costs most on a busy filesystem; two renames cost almost nothing. While such a run goes on,
data/ is absent, which means the same as empty; it is back (empty) if the run fails or after
``undo``.

For the same reason an intent is not a new file each time: finishing a promotion moves its
intent out of ``.staging`` to ``.intent-spare`` (the intent is gone all the same), and the
node's next promotion writes its intent over that file, then renames it into place. Creating
a file and removing it cost a node run 60-170 µs of CPU on these machines' ext4, writing over
one 10 µs. The spare is never read: a kill after it was written, before its rename, leaves
no intent (the swap had not begun). On a full disk the intent is written as a new file, which
fails as it always did: a node that filled the disk is not promoted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import json
import os
import shutil
import stat
from pathlib import Path

from nodepipe.domain.errors import InvalidInputError, StorageError
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import fsync_dir, write_atomic
from nodepipe.workspace.file_digests import fingerprint_outputs
from nodepipe.workspace.node_folder import NodeFolder

STAGING = ".staging"
PREVIOUS_SUFFIX = ".previous"
PROMOTING_SUFFIX = ".promoting"
INTENT_SPARE = ".intent-spare"
"""Beside ``.staging``: a finished intent's file, written over by the node's next intent."""
_SPARE_FLAGS = os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
"""A spare is opened without waiting (a FIFO fails at once) and never as a terminal."""
EMPTY_OUTPUTS = fingerprint_outputs(Path("/nonexistent/nodepipe/outputs"))
"""The digest of no outputs at all (an empty or missing data/)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Promotion:
    """A promotion's intent: which run's outputs, their digest, what they were made from."""

    run_id: str
    node_run_id: str
    output_digest: str
    fingerprint: str

    def to_dict(self) -> dict[str, str]:
        """The intent file's fields (``dataclasses.asdict`` copies each value deeply: slow)."""
        return {
            "run_id": self.run_id,
            "node_run_id": self.node_run_id,
            "output_digest": self.output_digest,
            "fingerprint": self.fingerprint,
        }


@functools.lru_cache(maxsize=1024)  # a run asks for each node run's about seven times
def staging_dir(folder: NodeFolder, node_run_id: str) -> Path:
    return _staging_root(folder) / node_run_id


@functools.cache  # one entry per node: sized to the workspace
def _staging_root(folder: NodeFolder) -> Path:
    return folder.path / STAGING


def open_staging(folder: NodeFolder, node_run_id: str) -> Path:
    """A fresh, empty staging folder for one node run (the empty data/ moved, if it is empty).

    Entries of earlier runs of the node still there (a crash after the store recorded them,
    before they were tidied) are settled first: a node runs in one run at a time.
    """
    staging = staging_dir(folder, node_run_id)
    settle_leftovers(folder, keep=node_run_id)
    try:
        _make_staging(folder, staging)
    except FileNotFoundError:  # the node's first run: no .staging/ yet
        staging.parent.mkdir(parents=True, exist_ok=True)
        _make_staging(folder, staging)
    return staging


def _make_staging(folder: NodeFolder, staging: Path) -> None:
    if _is_empty(folder.data):
        try:
            folder.data.rename(staging)
            return
        except OSError:  # a non-empty leftover of this run id: replaced below
            pass
    try:
        staging.mkdir()
    except FileExistsError:
        shutil.rmtree(staging)
        staging.mkdir()


def promote(folder: NodeFolder, promotion: Promotion) -> None:
    """Make the staging folder the node's data/: the intent written, then two renames; the
    old outputs stay aside until ``finish_promotion``. If the swap fails, data/ keeps the old
    outputs. Nothing is flushed here (see the module's docstring)."""
    staging = staging_dir(folder, promotion.node_run_id)
    intent = _sibling(staging, PROMOTING_SUFFIX)
    _write_intent(folder, intent, json.dumps(promotion.to_dict()).encode())
    crash_point("promote.intent-written")
    previous = _sibling(staging, PREVIOUS_SUFFIX)
    try:
        if folder.data.exists():
            folder.data.rename(previous)
            crash_point("promote.previous-aside")
        staging.rename(folder.data)
    except BaseException as error:
        if not folder.data.exists() and previous.exists():
            previous.rename(folder.data)
        intent.unlink(missing_ok=True)
        if isinstance(error, PermissionError):
            raise StorageError(_refused_swap(folder, error)) from error
        raise


def _refused_swap(folder: NodeFolder, error: PermissionError) -> str:
    """Why the swap was refused, and the fix: a folder is moved only by a user who may write
    in it and in the folder holding it (the node's folder and its data/, made read-only)."""
    return (
        f"the new outputs could not be put in place: moving {error.filename} was refused "
        f"({error.strerror}); nodepipe needs write permission on the node's folder and on its "
        f"data/ (`chmod u+w {folder.path} {folder.data}`). The previous outputs are kept"
    )


def _write_intent(folder: NodeFolder, intent: Path, data: bytes) -> None:
    """``data`` at ``intent`` all at once, not flushed (see the module's docstring): written
    over the node's spare intent file, then renamed into place; as a new file when the node
    has no spare yet, or it is not this user's plain file with no other name (a FIFO, which
    opening for writing would wait on for ever; a hard link to a file elsewhere, which writing
    over would change there): drop_intent then puts a spare of its own in its place."""
    spare = _spare(folder)
    try:
        descriptor = os.open(spare, _SPARE_FLAGS)
    except OSError:  # none yet (a first promotion, or one after a crash), or not usable
        write_atomic(intent, data, durable=False)
        return
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode) or found.st_nlink != 1 or found.st_uid != os.geteuid():
            raise IsADirectoryError(spare)  # not a file to write an intent in
        if not _room_for_a_file(descriptor):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), spare)
        written = 0
        while written < len(data):
            written += os.pwrite(descriptor, data[written:], written)
        os.ftruncate(descriptor, len(data))
    except OSError:
        os.close(descriptor)
        write_atomic(intent, data, durable=False)
        return
    os.close(descriptor)
    crash_point("aside-written.promoting")  # as ``write_atomic`` names this step
    os.replace(spare, intent)  # noqa: PTH105 (a str path: no Path made per node run)


def _room_for_a_file(descriptor: int) -> bool:
    """Whether this process could write a new small file on the filesystem of
    ``descriptor``: a free block and inode left (those root alone may use count for root).
    Writing over the spare needs neither; a promotion on a full disk fails all the same, as
    writing its intent as a new file does: a node that filled the disk keeps its old outputs
    (and the space comes back when its new ones are dropped)."""
    found = os.fstatvfs(descriptor)
    counted = found.f_files > 0  # btrfs and some FUSE filesystems count no inodes
    if os.geteuid() == 0:
        return found.f_bfree > 0 and (found.f_ffree > 0 or not counted)
    return found.f_bavail > 0 and (found.f_favail > 0 or not counted)


def drop_previous(folder: NodeFolder, node_run_id: str) -> None:
    """The store has recorded the promotion: the old outputs go (first step of finishing)."""
    previous = _sibling(staging_dir(folder, node_run_id), PREVIOUS_SUFFIX)
    if previous.exists():
        shutil.rmtree(previous, ignore_errors=True)
    crash_point("promote.previous-removed")


def drop_intent(folder: NodeFolder, node_run_id: str) -> None:
    """Last step of finishing a promotion, once the old outputs' removal is on disk: the
    intent leaves ``.staging``, kept as the spare its node's next intent is written over."""
    intent = _sibling(staging_dir(folder, node_run_id), PROMOTING_SUFFIX)
    try:
        os.replace(intent, _spare(folder))  # noqa: PTH105 (as above)
    except FileNotFoundError:
        return
    except OSError:  # the spare's name is taken by something else: the intent just goes
        with contextlib.suppress(FileNotFoundError):
            intent.unlink()


def finish_promotion(folder: NodeFolder, node_run_id: str) -> None:
    """The store has recorded the promotion: drop the old outputs, then (flushed in between,
    so a power cut never leaves old outputs without their intent) the intent."""
    drop_previous(folder, node_run_id)
    with contextlib.suppress(FileNotFoundError):
        fsync_dir(_staging_root(folder))
    drop_intent(folder, node_run_id)


def discard(folder: NodeFolder, node_run_id: str) -> None:
    """Drop what a failed or killed run wrote; data/ stays as it was (or comes back empty)."""
    shutil.rmtree(staging_dir(folder, node_run_id), ignore_errors=True)
    with contextlib.suppress(FileExistsError):  # a file put in data/'s place stays (refused)
        folder.data.mkdir(exist_ok=True)


def promoted(folder: NodeFolder, node_run_id: str) -> Promotion | None:
    """After a crash: the promotion of this node run if its swap happened and its outputs are
    whole in data/ (they digest as its intent says: a power cut may have kept the renames and
    lost the files), else None. Changes nothing."""
    staging = staging_dir(folder, node_run_id)
    promotion = _read_promotion(_sibling(staging, PROMOTING_SUFFIX))
    if promotion is None or staging.exists() or not folder.data.is_dir():
        return None
    if promotion.node_run_id != node_run_id:  # a spare's old words, its new ones lost
        return None
    if fingerprint_outputs(folder.data) != promotion.output_digest:
        return None
    return promotion


def undo(folder: NodeFolder, node_run_id: str, recorded_digest: str | None = None) -> None:
    """After a crash: a node run the store did not record leaves nothing, and data/ holds what
    the store records again: the outputs set aside by a swap that had begun come back; outputs
    of a swap from an empty data/ are dropped when ``recorded_digest`` says data/ was empty.
    Only this node run's entries are touched."""
    staging = staging_dir(folder, node_run_id)
    previous = _sibling(staging, PREVIOUS_SUFFIX)
    if previous.is_dir():
        if folder.data.exists():
            shutil.rmtree(folder.data)
        previous.rename(folder.data)
    elif not staging.exists() and _holds_unrecorded(folder, recorded_digest):
        shutil.rmtree(folder.data)
    shutil.rmtree(staging, ignore_errors=True)
    drop_intent(folder, node_run_id)
    _drop_intent_half_written(staging)
    if folder.path.is_dir():
        folder.data.mkdir(exist_ok=True)


def _drop_intent_half_written(staging: Path) -> None:
    """The intent's temporary file, if a kill cut its write short (``durable.write_aside``
    names it ``.<run>.promoting.<8 hex>.tmp``): the swap never began."""
    for temporary in staging.parent.glob(f".{staging.name}{PROMOTING_SUFFIX}.*.tmp"):
        with contextlib.suppress(OSError):
            temporary.unlink()


def _holds_unrecorded(folder: NodeFolder, recorded_digest: str | None) -> bool:
    """Whether data/ holds outputs other than those recorded, where the recorded ones were
    none (the only case a swap leaves no previous folder behind)."""
    if recorded_digest not in (None, EMPTY_OUTPUTS) or not folder.data.is_dir():
        return False
    return fingerprint_outputs(folder.data) != EMPTY_OUTPUTS


def settle_leftovers(folder: NodeFolder, keep: str | None = None) -> None:
    """Settle what earlier node runs left in the node's ``.staging`` (all but ``keep``). Only
    when no other run of the node is going on, and after crash recovery: then an intent left
    belongs to a promotion the store recorded (finished now), and anything else to a run that
    never promoted (undone)."""
    try:
        names = [entry.name for entry in _staging_root(folder).iterdir()]
    except FileNotFoundError:
        return
    for temporary in [n for n in names if n.startswith(".")]:  # a write cut short
        path = _staging_root(folder) / temporary
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    runs = [n for n in names if not n.startswith(".")]
    earlier = {n.removesuffix(PREVIOUS_SUFFIX).removesuffix(PROMOTING_SUFFIX) for n in runs}
    for other in earlier - {keep}:
        if _sibling(staging_dir(folder, other), PROMOTING_SUFFIX).exists():
            finish_promotion(folder, other)  # recorded (any other was recovered before)
        else:
            undo(folder, other)


@functools.cache  # one entry per node: sized to the workspace
def _spare(folder: NodeFolder) -> str:
    return f"{folder.path}/{INTENT_SPARE}"


def _sibling(staging: Path, suffix: str) -> Path:
    return staging.with_name(staging.name + suffix)


def _read_promotion(intent: Path) -> Promotion | None:
    try:
        found = json.loads(intent.read_text(encoding="utf-8"))
        return Promotion(**{f.name: str(found[f.name]) for f in dataclasses.fields(Promotion)})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def quick_to_settle(
    folder: NodeFolder, node_run_id: str, max_entries: int = 64, max_bytes: int = 1 << 20
) -> bool:
    """Whether promoting or discarding a run's outputs takes a moment only: few entries and
    little data in its staging folder (digested or removed), few entries in data/ (removed)."""
    staging = _Budget(max_entries, max_bytes)
    old = _Budget(max_entries, None)
    return staging.covers(staging_dir(folder, node_run_id)) and old.covers(folder.data)


class _Budget:
    """Entries and bytes a folder may hold, spent while walking it (stops once exceeded)."""

    def __init__(self, entries: int, size: int | None) -> None:
        self.entries, self.size = entries, size

    def covers(self, root: Path) -> bool:
        pending = [str(root)]
        while pending:
            try:
                with os.scandir(pending.pop()) as entries:
                    for entry in entries:
                        if not self._spend(entry, pending):
                            return False
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError:  # cannot look: not known to be quick
                return False
        return True

    def _spend(self, entry: os.DirEntry[str], pending: list[str]) -> bool:
        self.entries -= 1
        if entry.is_dir(follow_symlinks=False):
            pending.append(entry.path)
        elif self.size is not None and entry.is_file(follow_symlinks=False):
            self.size -= entry.stat(follow_symlinks=False).st_size
        return self.entries >= 0 and (self.size is None or self.size >= 0)


def _is_empty(data: Path) -> bool:
    """Whether ``data`` is an empty folder; InvalidInputError when it is not the node's own
    folder (a link, a file): the swap would move it aside and leave it there."""
    try:
        descriptor = os.open(data, _OWN_FOLDER_FLAGS)
    except FileNotFoundError:
        return False
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise InvalidInputError(_not_own_folder(data)) from None
    try:
        with os.scandir(descriptor) as entries:
            return next(entries, None) is None
    finally:
        os.close(descriptor)


_OWN_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
"""data/ opened only when it is a folder itself, not a link to one."""


def _not_own_folder(data: Path) -> str:
    fix = (
        "a node's outputs live in its own data/ folder, which each run replaces whole; remove "
        "it (a link's target is left as it is) and run again; to keep outputs on another disk, "
        "put the workspace's nodes/ there (a link to nodes/ is followed)"
    )
    if data.is_symlink():
        return f"{data} is a link to {data.readlink()}: {fix}"
    return f"{data} is not a folder: {fix}"
