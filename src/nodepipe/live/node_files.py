"""Edits in node folders reach the web app live: a user saving ``main.py`` in their editor sees
the node's card turn stale without reloading the page.

A thread reads one inotify queue (``live.inotify``: nothing polls) watching only what decides
a node's check (``live.node_watches``: ``nodes/``, each node folder, the folders of each
``code/`` outside environments and caches). A change there is published as one ``GraphChanged``
per ``DEBOUNCE_MS``; the page then reloads the pipeline, whose nodes carry their computed
states. What runs and syncs write (``data/``, ``logs/``, ``.venv``, bytecode caches) is not
watched, so a run does not echo itself and costs the watcher nothing.

The watcher also vouches for the node checks the server keeps (``workspace.folder_memo``): it
arms the memo once every watch is in place, tells it every node whose ``code/``, links file or
folder itself changed (before the page is told to reload), and disarms it when it stops or
fails. Its fence lets a view catch up: a file created in a private folder the same queue
watches; once the watcher sees it, every change written before has been told too (one queue,
in order). That folder is in the temp dir, named after the server's process; a killed server
cannot remove its own, so each server removes, as it starts, the ones this OS user's dead
servers left (``remove_stale_fences``).

When the queue overflows (the kernel drops events past ``max_queued_events``; it says so with
one event) the watcher disarms the memo, since a change may have gone untold, and starts over
with a new queue: every folder watched again, the fences waited on released (nothing kept is
trusted any more), the memo armed again. A folder it cannot watch (the user's watch limit, no
permission), or no queue at all (the user's inotify queues all taken, no descriptor left), stops
it vouching until it tries again: it starts over after ``RETRY_S[0]`` seconds, then twice as long
each time up to ``RETRY_S[1]``, and vouches again once it watches everything (another program
gave its watches back, the limit was raised). A fence folder removed under it (a cleaner of the
temp dir) is made again, and the watcher starts over. ``nodes/`` itself moved stops it vouching
for good, as on a network filesystem.
A folder mounted or unmounted under ``nodes/`` (``live.mounts``) hides what was watched there:
the watcher disarms the memo and starts over (a view made after the mount checks every node);
while a file is mounted there (a container's bind mount of one file), it does not vouch at all.
``nodes/`` may be a symbolic link (to a folder on another disk): the watcher watches the folder
it leads to, and each fence also looks whether it still does; once the link (or the workspace)
leads elsewhere, the fence fails, the memo is disarmed and the watcher starts over there.

Why not watchfiles (used before): it watches every folder under ``nodes/`` (each ``.venv``'s
thousands), hands every event to a Python filter, and says nothing of an overflow. A sync or a
run writing tens of thousands of files made each batch take longer than the last (about 40 µs
of Python an event: a fence waited behind 63,000 of them for 2.6 s, once 15 s), and an overflow
lost fences (seen only when a later fence was) and edits (a kept check then trusted until
``TRUST_SECONDS``). Measured figures: docs/performance.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from nodepipe.execution.recovery import process_start_time
from nodepipe.live.events import EventHub, GraphChanged
from nodepipe.live.inotify import IN_CREATE, IN_IGNORED, IN_MOVED_TO, IN_Q_OVERFLOW, Inotify
from nodepipe.live.mounts import MountWatch
from nodepipe.live.node_watches import NodeWatches
from nodepipe.workspace.folder_memo import FolderMemo

ACTION = "node files changed"
DEBOUNCE_MS = 200
"""Changes within this many milliseconds are told as one (an editor writes a file in steps)."""
FENCE_TIMEOUT_S = 2.0
"""How long a view waits for the watcher to see its fence before it checks every node."""
LOOK_S = 1.0
"""At most this long between looks whether the watcher should stop."""
RETRY_S = (2.0, 300.0)
"""After a start that could not watch everything, the first wait before starting over, and the
longest (the wait doubles each time: a folder that can never be watched costs a walk of
``nodes/`` every five minutes, not every two seconds)."""


class NodeFileWatcher:
    """Publishes ``GraphChanged`` when files that decide a node's outputs change."""

    def __init__(self, nodes_dir: Path, hub: EventHub, memo: FolderMemo | None = None) -> None:
        self.nodes_dir = nodes_dir
        self.hub = hub
        self.memo = memo or FolderMemo()
        self._fences = _make_fences()
        self._issued = 0
        self._seen = 0
        self._seen_changed = threading.Condition()
        self._vouches = on_local_filesystem(nodes_dir)
        """inotify sees no edit made on another machine of a network filesystem."""
        self.overflows = 0
        """Times the queue overflowed and the watcher started over."""
        self._queue: Inotify | None = None
        self._watches: NodeWatches | None = None
        self._moved = threading.Event()
        """A fence found ``nodes/`` leading to another folder than the one watched."""
        self._retry_in = RETRY_S[0]
        """How long after a start that could not watch everything the watcher starts over."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nodepipe-files", daemon=True)

    def start(self) -> None:
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        queue = self._queue
        if queue is not None:
            queue.wake()
        if self._thread.is_alive():
            self._thread.join(5)
        shutil.rmtree(self._fences, ignore_errors=True)

    def fence(self) -> bool:
        """Returns once the watcher has told every change made before the call (False if it
        did not within ``FENCE_TIMEOUT_S``)."""
        with self._seen_changed:
            self._issued += 1
            number = self._issued
        try:
            (self._fences / str(number)).touch()
        except OSError:
            return False
        with self._seen_changed:
            seen = self._seen_changed.wait_for(lambda: self._seen >= number, FENCE_TIMEOUT_S)
        watches = self._watches
        if seen and watches is not None and watches.moved():
            self.memo.disarm()  # what the checks read is not what is watched
            self._moved.set()
            queue = self._queue
            if queue is not None:
                queue.wake()
            return False
        return seen

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    again = self._watch()
                except OSError:  # no queue: the user's inotify queues taken, no descriptor left
                    again = not self._stop.wait(self._next_retry())
                if not again:
                    break
                self.hub.publish(GraphChanged(ACTION))  # what was lost may have changed a node
        finally:
            self.memo.disarm()

    def _next_retry(self) -> float:
        """The wait before starting over after a start that could not watch everything; the
        next one is twice as long (up to ``RETRY_S[1]``)."""
        wait, self._retry_in = self._retry_in, min(self._retry_in * 2, RETRY_S[1])
        return wait

    def _watch(self) -> bool:
        """Watch with a new queue until told to stop (False), or until the queue overflows or
        ``nodes/`` leads elsewhere (True: start over)."""
        queue = self._queue = Inotify()
        stack = contextlib.ExitStack()
        try:
            if self._stop.is_set():
                return False
            self._moved.clear()
            if not self._fences.is_dir():  # removed under it (a cleaner of the temp dir)
                self._fences = _make_fences()
            fences = queue.add(self._fences, IN_CREATE | IN_MOVED_TO)
            mounts = MountWatch(self.nodes_dir)  # before the watches: a mount meanwhile is told
            stack.callback(mounts.close)
            watches = NodeWatches(queue, self.nodes_dir)
            watches.watch_all()
            self._watches = watches
            self._release_fences()  # before arming: what they waited for is not trusted
            if self._vouches and not watches.unwatched and not mounts.files():
                self.memo.arm(self.fence)  # (a file mounted under nodes/: its edits go untold)
                self._retry_in = RETRY_S[0]
            retry_at = self._retry_at(watches)
            publish_at: float | None = None
            while not self._stop.is_set():
                now = time.monotonic()
                wait = min(at - now for at in (now + LOOK_S, publish_at, retry_at) if at)
                events = queue.read() if queue.wait(max(0.0, wait)) else []
                if any(event.mask & IN_Q_OVERFLOW for event in events):
                    self.memo.disarm()
                    self.overflows += 1
                    return True
                if any(e.watch == fences and e.mask & IN_IGNORED for e in events):
                    self.memo.disarm()  # its fence folder was removed: a new one, and start over
                    return True
                if self._moved.is_set() or mounts.changed():  # after reading: a fence seen
                    self.memo.disarm()  # vouches for no folder mounted before it was made
                    return True
                seen = [e.name for e in events if e.watch == fences and e.name.isdigit()]
                told = watches.tell([e for e in events if e.watch != fences])
                if told.gone:
                    self._vouches = False  # the folder watched moved
                    self.memo.disarm()
                elif watches.unwatched and retry_at is None:  # a folder made is not watched
                    self.memo.disarm()
                    retry_at = self._retry_at(watches)
                self.memo.changed(told.nodes)  # first: a fence seen vouches for what came before
                self._saw(seen)
                if told.code and publish_at is None:
                    publish_at = time.monotonic() + DEBOUNCE_MS / 1000
                if publish_at is not None and time.monotonic() >= publish_at:
                    publish_at = None
                    self.hub.publish(GraphChanged(ACTION))
                if retry_at is not None and time.monotonic() >= retry_at:
                    return True  # start over: every folder watched again, if it can be now
            return False
        finally:
            self._queue = self._watches = None
            stack.close()
            queue.close()

    def _retry_at(self, watches: NodeWatches) -> float | None:
        """When to start over, if a folder is not watched and the watcher would vouch else."""
        if not watches.unwatched or not self._vouches:
            return None
        return time.monotonic() + self._next_retry()

    def _saw(self, names: list[str]) -> None:
        for name in names:
            (self._fences / name).unlink(missing_ok=True)
        if names:
            with self._seen_changed:
                self._seen = max(self._seen, *map(int, names))
                self._seen_changed.notify_all()

    def _release_fences(self) -> None:
        """Every fence made so far counts as seen (the memo keeps nothing from before), and the
        files of those the last queue did not see are removed."""
        with self._seen_changed:
            self._seen = self._issued
            self._seen_changed.notify_all()
        try:
            left = [entry.path for entry in os.scandir(self._fences)]
        except OSError:
            return
        for path in left:
            Path(path).unlink(missing_ok=True)


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
