"""The web app's watcher of the node folders (``live.node_files``) sees its fences promptly
whatever else happens in ``nodes/``, is told only what a node's check reads, and after its
queue overflows trusts none of the checks it vouched for, then watches again.
Real folders, real inotify, the real watcher and memo; syncs and runs are real processes
writing what they write (an environment built beside ``.venv`` and swapped in, outputs)."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nodepipe.live.events import EventHub
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.workspace.folder_memo import FolderMemo
from support.waiting import wait_for

NODES = ("a", "b", "c")

SYNC_AND_RUN = """
import os, shutil, sys
from pathlib import Path
node = Path(sys.argv[1])
for round in range(2):
    building = node / "code" / f".venv.building-{round}"
    for package in range(100):
        folder = building / "lib" / "site-packages" / f"package{package}"
        os.makedirs(folder)
        for module in range(25):
            (folder / f"module{module}.py").write_bytes(b"x = 1\\n")
    venv, old = node / "code" / ".venv", node / "code" / f".venv.old-{round}"
    if venv.exists():
        venv.rename(old)
    building.rename(venv)
    shutil.rmtree(old, ignore_errors=True)
    outputs = node / ".staging" / f"run{round}"
    os.makedirs(outputs)
    for part in range(2000):
        (outputs / f"part{part}.csv").write_bytes(b"1,2\\n")
    shutil.rmtree(node / "data", ignore_errors=True)
    outputs.rename(node / "data")
    (node / "logs").mkdir(exist_ok=True)
    (node / "logs" / f"run{round}.log").write_text("done\\n")
"""
"""What an environment sync and a run write in a node folder: an environment of 2,500 modules
built beside ``.venv`` and swapped in (the old one removed), 2,000 outputs written aside and
swapped in as ``data/``, a log; twice."""


class HeldMemo(FolderMemo):
    """The real memo, whose ``changed`` can be held: the watcher's thread then reads nothing
    from its queue, as a thread not scheduled on a loaded machine."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()

    def changed(self, node_ids: Iterable[str]) -> None:
        node_ids = list(node_ids)
        if node_ids and self.hold.is_set():
            self.held.set()
            self.release.wait(60)
        super().changed(node_ids)


@pytest.fixture
def nodes(tmp_path: Path) -> Path:
    for node in NODES:
        (tmp_path / "nodes" / node / "code").mkdir(parents=True)
        (tmp_path / "nodes" / node / "code" / "main.py").write_text("pass\n")
        (tmp_path / "nodes" / node / "data").mkdir()
    return tmp_path / "nodes"


@contextmanager
def watching(nodes: Path, memo: FolderMemo) -> Iterator[NodeFileWatcher]:
    watcher = NodeFileWatcher(nodes, EventHub(), memo)
    watcher.start()
    try:
        wait_for(lambda: memo.armed, "the watcher to watch")
        yield watcher
    finally:
        watcher.stop()


@pytest.fixture
def memo() -> FolderMemo:
    return FolderMemo()


@pytest.fixture
def watcher(nodes: Path, memo: FolderMemo) -> Iterator[NodeFileWatcher]:
    with watching(nodes, memo) as running:
        yield running


def keep(memo: FolderMemo, *node_ids: str) -> None:
    """Keep a check of each node, as a view does."""
    for node_id in node_ids:
        memo.keep(node_id, memo.ticket(node_id), "key", f"check of {node_id}")


def kept(memo: FolderMemo) -> set[str]:
    assert memo.catch_up()  # every change made so far was told
    return {node_id for node_id in NODES if memo.get(node_id, "key") is not None}


def test_fences_are_seen_while_environments_sync_and_runs_write_and_no_check_is_dropped(
    nodes: Path, memo: FolderMemo, watcher: NodeFileWatcher
) -> None:
    keep(memo, *NODES)
    writers = [
        subprocess.Popen([sys.executable, "-c", SYNC_AND_RUN, str(nodes / node)]) for node in NODES
    ]
    fences = missed = 0
    while any(writer.poll() is None for writer in writers):
        fences += 1
        missed += not watcher.fence()  # each waits up to FENCE_TIMEOUT_S
        threading.Event().wait(0.01)
    assert [writer.returncode for writer in writers] == [0, 0, 0]
    assert (nodes / "a" / "code" / ".venv" / "lib").is_dir() and (nodes / "a" / "data").is_dir()
    assert fences > 0 and missed == 0
    assert kept(memo) == set(NODES)  # nothing a check reads changed: every check is still kept

    (nodes / "b" / "code" / "main.py").write_text("print('edited')\n")
    assert kept(memo) == {"a", "c"}  # what matters is still told, at once


def test_folders_made_moved_or_added_later_are_watched_and_caches_are_not(
    nodes: Path, memo: FolderMemo, watcher: NodeFileWatcher
) -> None:
    (nodes / "a" / "code" / "pkg" / "sub").mkdir(parents=True)
    assert kept(memo) == set()
    keep(memo, *NODES)
    (nodes / "a" / "code" / "pkg" / "sub" / "tool.py").write_text("x = 1\n")
    assert kept(memo) == {"b", "c"}

    keep(memo, "a")
    (nodes / "a" / "code" / "pkg").rename(nodes / "b" / "code" / "pkg")  # to another node
    assert kept(memo) == {"c"}
    keep(memo, "a", "b")
    (nodes / "b" / "code" / "pkg" / "sub" / "tool.py").write_text("x = 2\n")
    assert kept(memo) == {"a", "c"}
    keep(memo, "b")

    (nodes / "a" / "code" / "__pycache__").mkdir()
    (nodes / "a" / "code" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (nodes / "a" / "links.toml").write_text("")
    assert kept(memo) == {"b", "c"}  # the links file is told, the cache is not
    keep(memo, "a")
    (nodes / "a" / "code" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\1")
    assert kept(memo) == set(NODES)

    shutil.copytree(nodes / "c", nodes.parent / "d")
    (nodes.parent / "d").rename(nodes / "d")  # a node folder moved in
    (nodes / "d" / "code" / "main.py").write_text("print('d')\n")
    assert memo.catch_up()
    keep(memo, "d")
    assert memo.get("d", "key") is not None
    (nodes / "d" / "code" / "main.py").write_text("print('d again')\n")
    assert memo.catch_up() and memo.get("d", "key") is None


def exchange(one: Path, other: Path) -> None:
    """Swap two folders in one step (``renameat2`` with ``RENAME_EXCHANGE``, as ``mv
    --exchange`` does)."""
    libc = ctypes.CDLL(None, use_errno=True)
    here = -100  # AT_FDCWD
    if libc.renameat2(here, os.fsencode(one), here, os.fsencode(other), 2) != 0:
        pytest.skip(f"renameat2: {os.strerror(ctypes.get_errno())}")


def test_folders_swapped_in_one_step_are_both_watched(
    nodes: Path, memo: FolderMemo, watcher: NodeFileWatcher
) -> None:
    code = nodes / "a" / "code"
    for name in ("pkg", "lib"):
        (code / name / "sub").mkdir(parents=True)
        (code / name / "sub" / f"{name}.py").write_text("x = 1\n")
    assert kept(memo) == set()
    exchange(code / "pkg", code / "lib")
    assert kept(memo) == set()
    for edited in ("pkg/sub/lib.py", "lib/sub/pkg.py", "pkg/lib.py", "lib/pkg.py"):
        keep(memo, "a")
        (code / edited).write_text("x = 2\n")
        assert kept(memo) == set(), f"{edited} was not told"


def test_after_its_queue_overflows_the_watcher_trusts_no_kept_check_and_watches_again(
    nodes: Path,
) -> None:
    memo = HeldMemo()
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    with watching(nodes, memo) as watcher:
        keep(memo, *NODES)
        memo.hold.set()
        (nodes / "a" / "code" / "first.py").write_text("x = 1\n")
        assert memo.held.wait(30)  # the watcher reads nothing more for now
        for number in range(limit):  # at least two events each: the queue overflows
            (nodes / "a" / "code" / f"module{number}.py").touch()
        (nodes / "b" / "code" / "main.py").write_text("print('lost in the overflow')\n")
        memo.hold.clear()
        memo.release.set()

        wait_for(memo.catch_up, "the watcher to watch again and see a fence")
        assert kept(memo) == set()  # b's edit was never told: nothing kept is trusted
        assert watcher.overflows == 1
        keep(memo, *NODES)
        (nodes / "c" / "code" / "main.py").write_text("print('told again')\n")
        assert kept(memo) == {"a", "b"}
        assert all(watcher.fence() for _ in range(20))


def test_a_nodes_folder_reached_through_a_symbolic_link_is_watched_where_it_lies(
    tmp_path: Path, nodes: Path
) -> None:
    """``nodes/`` a link to a folder on another disk: node folders replaced later are watched
    too; once the link leads elsewhere, nothing kept is vouched for, and the watcher starts
    over where it leads."""
    real = tmp_path / "big-disk" / "nodes"
    real.parent.mkdir()
    nodes.rename(real)
    nodes.symlink_to(real, target_is_directory=True)
    memo = FolderMemo()
    with watching(nodes, memo):
        keep(memo, *NODES)
        (nodes / "a").rename(tmp_path / "a.old")  # a node folder replaced by a fresh copy
        shutil.copytree(tmp_path / "a.old", nodes / "a")
        assert kept(memo) == {"b", "c"}
        keep(memo, "a")
        (nodes / "a" / "code" / "main.py").write_text("print('edited in the copy')\n")
        assert kept(memo) == {"b", "c"}

        keep(memo, "a")
        shutil.copytree(real, tmp_path / "elsewhere")
        nodes.unlink()  # the link now leads to another folder, which no watch is on
        nodes.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
        (nodes / "b" / "code" / "main.py").write_text("print('edited elsewhere')\n")
        assert not memo.catch_up() and memo.get("b", "key") is None

        wait_for(memo.catch_up, "the watcher to watch where the link leads")
        keep(memo, *NODES)
        (nodes / "c" / "code" / "main.py").write_text("print('told there')\n")
        assert kept(memo) == {"a", "b"}


SHARED_BY_A_BIND_MOUNT = """
import subprocess, sys, time
from pathlib import Path
from nodepipe.live.events import EventHub
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.workspace.folder_memo import FolderMemo
nodes = Path(sys.argv[1])
subprocess.run(["mount", "--bind", nodes / "a" / "code" / "lib", nodes / "b" / "code" / "lib"],
               check=True)
memo = FolderMemo()
watcher = NodeFileWatcher(nodes, EventHub(), memo)
watcher.start()
time.sleep(1)
kept = set()
if memo.catch_up():
    for node in ("a", "b"):
        memo.keep(node, memo.ticket(node), "key", "check")
    (nodes / "a" / "code" / "lib" / "tool.py").write_text("x = 2\\n")
    if memo.catch_up():
        kept = {node for node in ("a", "b") if memo.get(node, "key") is not None}
watcher.stop()
print(sorted(kept))
"""
"""In a mount namespace of its own: ``a/code/lib`` also mounted at ``b/code/lib``, the watcher
started, both checks kept, then a file of that folder edited: the nodes whose check is still
kept."""


def test_a_folder_mounted_in_two_nodes_is_vouched_for_in_neither(nodes: Path) -> None:
    """One folder reached by two paths under ``nodes/`` (a bind mount) has one watch: an edit
    in it cannot be told to both nodes, so the watcher vouches for nothing."""
    for node in ("a", "b"):
        (nodes / node / "code" / "lib").mkdir()
    (nodes / "a" / "code" / "lib" / "tool.py").write_text("x = 1\n")
    namespace = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    if subprocess.run([*namespace, "true"], capture_output=True).returncode != 0:
        pytest.skip("no mount namespace can be made here (unshare refused)")
    found = subprocess.run(
        [*namespace, sys.executable, "-c", SHARED_BY_A_BIND_MOUNT, str(nodes)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split("\n")[-2] == "[]"  # an edit through either path shows at once


MOUNTED_OVER = """
import subprocess, sys, time
from pathlib import Path
from nodepipe.live.events import EventHub
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.workspace.folder_memo import FolderMemo
nodes, elsewhere = Path(sys.argv[1]), Path(sys.argv[2])
memo = FolderMemo()
watcher = NodeFileWatcher(nodes, EventHub(), memo)
watcher.start()
deadline = time.monotonic() + 30
while not memo.catch_up() and time.monotonic() < deadline:
    time.sleep(0.05)
subprocess.run(["mount", "--bind", elsewhere, nodes / "a" / "code" / "lib"], check=True)
while not memo.catch_up() and time.monotonic() < deadline:
    time.sleep(0.05)
memo.keep("a", memo.ticket("a"), "key", "check")
(elsewhere / "tool.py").write_text("x = 2\\n")  # what a's check now reads in code/lib
print(memo.catch_up() and memo.get("a", "key") is not None)
watcher.stop()
"""
"""In a mount namespace of its own: the watcher started, a folder mounted over ``a/code/lib``,
a's check kept once the view caught up, then a file of the mounted folder edited: whether a's
check is still kept."""


def test_a_folder_mounted_over_a_watched_one_is_watched_where_it_lies(
    nodes: Path, tmp_path: Path
) -> None:
    (nodes / "a" / "code" / "lib").mkdir()
    elsewhere = tmp_path / "share"
    elsewhere.mkdir()
    (elsewhere / "tool.py").write_text("x = 1\n")
    namespace = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    if subprocess.run([*namespace, "true"], capture_output=True).returncode != 0:
        pytest.skip("no mount namespace can be made here (unshare refused)")
    found = subprocess.run(
        [*namespace, sys.executable, "-c", MOUNTED_OVER, str(nodes), str(elsewhere)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split("\n")[-2] == "False"  # the edit was told: a is checked again


A_FILE_MOUNTED = """
import subprocess, sys, time
from pathlib import Path
from nodepipe.live.events import EventHub
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.workspace.folder_memo import FolderMemo
nodes, source = Path(sys.argv[1]), Path(sys.argv[2])
subprocess.run(["mount", "--bind", source, nodes / "a" / "code" / "config.py"], check=True)
memo = FolderMemo()
watcher = NodeFileWatcher(nodes, EventHub(), memo)
watcher.start()
time.sleep(1)
if memo.catch_up():
    memo.keep("a", memo.ticket("a"), "key", "check")
source.write_text("x = 2\\n")  # what a's check reads as code/config.py
print(memo.catch_up() and memo.get("a", "key") is not None)
watcher.stop()
"""


def test_a_file_mounted_into_a_node_folder_is_never_vouched_for(
    nodes: Path, tmp_path: Path
) -> None:
    """A file mounted in place (a container's bind mount of one file): an edit of it where it
    lies is told to no watch under ``nodes/``, so the watcher vouches for nothing."""
    source = tmp_path / "config.py"
    source.write_text("x = 1\n")
    (nodes / "a" / "code" / "config.py").write_text("")
    namespace = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    if subprocess.run([*namespace, "true"], capture_output=True).returncode != 0:
        pytest.skip("no mount namespace can be made here (unshare refused)")
    found = subprocess.run(
        [*namespace, sys.executable, "-c", A_FILE_MOUNTED, str(nodes), str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split("\n")[-2] == "False"


AT_THE_WATCH_LIMIT = """
import sys, time
from pathlib import Path
from nodepipe.live.events import EventHub
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.workspace.folder_memo import FolderMemo
nodes = Path(sys.argv[1])
Path("/proc/sys/user/max_inotify_watches").write_text(sys.argv[2])  # this user namespace's
memo = FolderMemo()
watcher = NodeFileWatcher(nodes, EventHub(), memo)
watcher.start()
time.sleep(1)
at_start = memo.catch_up()
for number in range(10):  # past the limit: folders made while it watches
    (nodes / "a" / "code" / f"pkg{number}").mkdir()
time.sleep(1)
print(at_start, memo.catch_up(), memo.get("a", "key") is None)
watcher.stop()
"""
"""In a user namespace of its own with a small inotify watch limit: the watcher started on
three nodes (8 watches with its fence folder), then ten folders made in a's ``code/``; whether
it vouched at start, whether it still does, whether a's check is not kept."""


@pytest.mark.parametrize(
    ("limit", "vouched"),
    [("12", "True False True"), ("5", "False False True")],  # full mid-way, or at start
)
def test_a_workspace_the_watcher_cannot_fully_watch_is_checked_by_stat(
    nodes: Path, limit: str, vouched: str
) -> None:
    namespace = ["unshare", "--user", "--map-root-user"]
    if subprocess.run([*namespace, "true"], capture_output=True).returncode != 0:
        pytest.skip("no user namespace can be made here (unshare refused)")
    found = subprocess.run(
        [*namespace, sys.executable, "-c", AT_THE_WATCH_LIMIT, str(nodes), limit],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split("\n")[-2] == vouched


COMES_BACK = """
import shutil, sys, time
from pathlib import Path
from nodepipe.live import node_files
from nodepipe.live.events import EventHub
from nodepipe.live.node_files import NodeFileWatcher
from nodepipe.workspace.folder_memo import FolderMemo
node_files.RETRY_S = (0.2, 0.4)
nodes, case = Path(sys.argv[1]), sys.argv[2]
limits = Path("/proc/sys/user")  # this user namespace's
memo = FolderMemo()
def vouches_within(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if memo.catch_up():
            return True
        time.sleep(0.05)
    return False
if case == "queues":
    (limits / "max_inotify_instances").write_text("0")
if case == "watches":
    (limits / "max_inotify_watches").write_text("12")
watcher = NodeFileWatcher(nodes, EventHub(), memo)
watcher.start()
if case == "queues":  # no queue can be made: it does not vouch, and tries again
    before = not vouches_within(1)
    (limits / "max_inotify_instances").write_text("128")
if case == "watches":  # past the limit while it watches: it stops vouching
    vouched = vouches_within(10)
    for number in range(10):
        (nodes / "a" / "code" / f"pkg{number}").mkdir()
    time.sleep(1)
    before = vouched and not memo.catch_up()
    (limits / "max_inotify_watches").write_text("1000")
if case == "fences":  # its fence folder removed under it
    before = vouches_within(10)
    shutil.rmtree(watcher._fences)
print(before, vouches_within(30), watcher._fences.is_dir())
watcher.stop()
"""
"""In a user namespace of its own: the watcher started when no inotify queue can be made, or
past the watch limit mid-way, or its fence folder removed; whether it was not vouching (or
vouching, for the fence folder) before, whether it vouches again once it can, and whether its
fence folder is there."""


@pytest.mark.parametrize("case", ["queues", "watches", "fences"])
def test_the_watcher_vouches_again_once_it_can(nodes: Path, case: str) -> None:
    namespace = ["unshare", "--user", "--map-root-user"]
    if subprocess.run([*namespace, "true"], capture_output=True).returncode != 0:
        pytest.skip("no user namespace can be made here (unshare refused)")
    found = subprocess.run(
        [*namespace, sys.executable, "-c", COMES_BACK, str(nodes), case],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split("\n")[-2] == "True True True", found.stderr


ONE_DESCRIPTOR_LEFT = """
import errno, os, resource
from nodepipe.live.inotify import Inotify
resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
taken = []
while True:  # every descriptor taken...
    try:
        taken.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        break
os.close(taken.pop())  # ...but one
try:
    Inotify()  # its queue takes the last descriptor, its wake-up pipe finds none
except OSError as exc:
    print(exc.errno == errno.EMFILE)
for fd in taken:
    os.close(fd)
queues = 0
for fd in os.listdir("/proc/self/fd"):
    try:
        queues += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
    except OSError:
        pass  # the listing's own
print(queues)
"""


def test_a_queue_that_cannot_be_made_whole_leaves_no_descriptor_open() -> None:
    found = subprocess.run(
        [sys.executable, "-c", ONE_DESCRIPTOR_LEFT], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["True", "0"]
