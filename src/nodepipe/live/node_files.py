"""Edits in node folders reach the web app live: a user saving ``main.py`` in their editor sees
the node's card turn stale without reloading the page.

A thread watches ``<workspace>/nodes`` with watchfiles (inotify on Linux: nothing polls). A
change to what decides a node's outputs (files under a node's ``code/``: its code, parameters,
pyproject and lock) is published as one ``GraphChanged`` per batch of changes; the page then
reloads the pipeline, whose nodes carry their computed states. What runs and syncs write
(``data/``, ``logs/``, ``.venv``, bytecode caches) is ignored, so a run does not echo itself.

The watcher also vouches for the node checks the server keeps (``workspace.folder_memo``): it
arms the memo once watchfiles watches (its first yield, at most ``ARM_AFTER_MS`` after start),
tells it every node whose ``code/``, links file or folder itself changed (before the page is
told to reload), and disarms it when it stops or fails. Its fence lets a view catch up: a file
created in a private folder the same watch covers; once the watcher sees it, every change
written before has been told too (one inotify queue, in order). That folder is in the temp
dir, named after the server's process; a killed server cannot remove its own, so each server
removes, as it starts, the ones this OS user's dead servers left (``remove_stale_fences``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from watchfiles import Change, watch

from nodepipe.execution.recovery import process_start_time
from nodepipe.live.events import EventHub, GraphChanged
from nodepipe.workspace.folder_memo import FolderMemo
from nodepipe.workspace.node_folder import LINKS_FILE

IGNORED_PARTS = frozenset({".venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache"})
ACTION = "node files changed"
DEBOUNCE_MS = 200
"""Changes within this many milliseconds are told as one (an editor writes a file in steps)."""
ARM_AFTER_MS = 1000
"""watchfiles yields (nothing) after this long without changes: the sign that it watches."""
STEP_MS = 20
"""How often watchfiles looks whether changes settled: a fence is seen within a few steps."""
FENCE_TIMEOUT_S = 2.0
"""How long a view waits for the watcher to see its fence before it checks every node."""


class NodeFileWatcher:
    """Publishes ``GraphChanged`` when files that decide a node's outputs change."""

    def __init__(self, nodes_dir: Path, hub: EventHub, memo: FolderMemo | None = None) -> None:
        self.nodes_dir = nodes_dir
        self.hub = hub
        self.memo = memo or FolderMemo()
        self._fences = _make_fences()
        self._numbers = itertools.count(1)
        self._seen = 0
        self._seen_changed = threading.Condition()
        self._vouches = on_local_filesystem(nodes_dir)
        """inotify sees no edit made on another machine of a network filesystem."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nodepipe-files", daemon=True)

    def start(self) -> None:
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        shutil.rmtree(self._fences, ignore_errors=True)

    def fence(self) -> bool:
        """Returns once the watcher has told every change made before the call (False if it
        did not within ``FENCE_TIMEOUT_S``)."""
        number = next(self._numbers)
        try:
            (self._fences / str(number)).touch()
        except OSError:
            return False
        with self._seen_changed:
            return self._seen_changed.wait_for(lambda: self._seen >= number, FENCE_TIMEOUT_S)

    def _loop(self) -> None:
        try:
            for changes in watch(
                self.nodes_dir,
                self._fences,
                watch_filter=self._touches_node,
                stop_event=self._stop,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                rust_timeout=ARM_AFTER_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                if any(Path(path) == self.nodes_dir for _, path in changes):
                    self._vouches = False  # the folder watched was moved or removed
                    self.memo.disarm()
                if self._vouches and not self.memo.armed:
                    self.memo.arm(self.fence)
                fences = {Path(path) for change, path in changes if self._is_fence(path)}
                nodes = {self._node_of(path) for _, path in changes if not self._is_fence(path)}
                self.memo.changed(nodes)  # first: a fence seen vouches for what came before it
                self._saw(fences)
                if any(self._relevant(change, path) for change, path in changes):
                    self.hub.publish(GraphChanged(ACTION))
        finally:
            self.memo.disarm()

    def _saw(self, fences: set[Path]) -> None:
        numbers = [int(f.name) for f in fences if f.name.isdigit()]
        for fence in fences:
            fence.unlink(missing_ok=True)
        if numbers:
            with self._seen_changed:
                self._seen = max(self._seen, *numbers)
                self._seen_changed.notify_all()

    def _is_fence(self, path: str) -> bool:
        return Path(path).parent == self._fences

    def _node_of(self, path: str) -> str:
        parts = Path(path).relative_to(self.nodes_dir).parts
        return parts[0] if parts else ""

    def _touches_node(self, change: Change, path: str) -> bool:
        """Whether ``path`` may change a node's check: anything under its ``code/``, its links
        file, or its folder itself (created, moved, removed); or is a fence, or the watched
        folder itself."""
        if self._is_fence(path):
            return change is Change.added
        try:
            parts = Path(path).relative_to(self.nodes_dir).parts
        except ValueError:
            return False
        return len(parts) <= 1 or parts[1] in ("code", LINKS_FILE)

    def _relevant(self, change: Change, path: str) -> bool:
        """Whether ``path`` is under a node's ``code/``, outside environments and caches."""
        try:
            parts = Path(path).relative_to(self.nodes_dir).parts
        except ValueError:
            return False
        if len(parts) < 3 or parts[1] != "code":
            return False
        return not any(p in IGNORED_PARTS or p.startswith(".venv.") for p in parts[2:])


FENCES_PREFIX = "nodepipe-fence-"


def _make_fences() -> Path:
    """A private folder in the temp dir for this server's fences, named after the process
    (pid and start time), once the folders of servers that were killed are removed."""
    temp = Path(tempfile.gettempdir())
    remove_stale_fences(temp)
    pid = os.getpid()
    prefix = f"{FENCES_PREFIX}{pid}-{process_start_time(pid) or 0}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=temp)).resolve()


def remove_stale_fences(temp: Path) -> list[Path]:
    """Remove the fence folders in ``temp`` that servers of this OS user left when they were
    killed (their process is gone, or its pid now belongs to another process); the removed
    ones. Another user's folder, anything not a folder, and a name not ours are left alone."""
    removed: list[Path] = []
    if process_start_time(os.getpid()) is None:
        return removed  # no /proc: it cannot tell a live server from a dead one
    try:
        entries = [e for e in os.scandir(temp) if e.name.startswith(FENCES_PREFIX)]
    except OSError:
        return removed
    for entry in entries:
        pid, _, rest = entry.name.removeprefix(FENCES_PREFIX).partition("-")
        started, _, _ = rest.partition("-")
        if not (pid.isdigit() and started.isdigit()):
            continue  # not named by this version: it cannot tell whose it is
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if process_start_time(int(pid)) == started:
            continue  # that server still runs
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "lustre", "gpfs", "9p", "afs", "glusterfs"}
)


def on_local_filesystem(folder: Path) -> bool:
    """Whether ``folder`` is on a filesystem of this machine (Linux's mount table says; False
    when it cannot tell, or for FUSE, which may be remote)."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    real = os.path.realpath(folder)
    found, kind = "", ""
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(found):
            found, kind = point, fields[2]
    return bool(kind) and kind not in NETWORK_FILESYSTEMS and not kind.startswith("fuse")
