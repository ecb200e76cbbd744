"""Ending a node's process group: SIGTERM, a grace, SIGKILL; the wait ends with the members.

Real process groups (a leader in its own session, its children and grandchildren) made by small
Python scripts that report on their standard output (one ``write`` a line) what happens
to them.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nodepipe.execution.process_groups import group_members, terminate_group

SAFETY_TIMEOUT = 120.0
"""Only so that a broken wait fails the test instead of hanging it; never reached when green."""

IGNORES_SIGTERM = r"""
    import os, signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.fork()  # a child in the group, ignoring SIGTERM too
    os.write(1, b"ready\n")
    while True:
        signal.pause()
"""

ENDS_ON_SIGTERM = r"""
    import os, signal
    os.fork()  # a child in the group, which SIGTERM ends too
    os.write(1, b"ready\n")
    while True:
        signal.pause()
"""

GRANDCHILD_CLEANS_UP = r"""
    import os, signal, sys
    release = sys.argv[1]
    if os.fork() == 0:
        if os.fork() == 0:  # the grandchild: on SIGTERM, cleans up until the test releases it
            def clean_up(*_):
                os.write(1, b"term\n")
                with open(release) as fifo:
                    fifo.read()
                os.write(1, b"cleaned\n")
                os._exit(0)
            signal.signal(signal.SIGTERM, clean_up)
            os.write(1, b"ready\n")
            while True:
                signal.pause()
        signal.pause()  # the child: SIGTERM ends it
    os._exit(0)  # the leader leaves at once
"""


@dataclass
class Group:
    leader: subprocess.Popen[str]
    lines: queue.Queue[str]

    def next_line(self) -> str:
        return self.lines.get(timeout=SAFETY_TIMEOUT).strip()


@contextmanager
def process_group(script: str, *args: str) -> Iterator[Group]:
    """Start ``script`` as the leader of a new session; its members' output lines in a queue."""
    leader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert leader.stdout is not None
    stream = leader.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    try:
        yield Group(leader, lines)
    finally:
        if group_members(leader.pid):
            os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
        stream.close()


def in_background(pgid: int, grace: float) -> threading.Thread:
    thread = threading.Thread(target=terminate_group, args=(pgid, grace), daemon=True)
    thread.start()
    return thread


def test_members_that_ignore_sigterm_are_killed_after_the_grace() -> None:
    with process_group(IGNORES_SIGTERM) as group:
        assert [group.next_line(), group.next_line()] == ["ready", "ready"]
        assert len(group_members(group.leader.pid)) == 2

        terminate_group(group.leader.pid, grace=0.5)

        assert group_members(group.leader.pid) == []
        assert group.leader.wait() == -signal.SIGKILL


def test_a_group_that_ends_on_sigterm_is_not_waited_for_until_the_grace() -> None:
    """With a grace of an hour, the call returns only if it woke up on the members' ends."""
    with process_group(ENDS_ON_SIGTERM) as group:
        assert [group.next_line(), group.next_line()] == ["ready", "ready"]

        ending = in_background(group.leader.pid, grace=3600)
        ending.join(SAFETY_TIMEOUT)

        assert not ending.is_alive()
        assert group_members(group.leader.pid) == []
        assert group.leader.wait() == -signal.SIGTERM  # SIGTERM ended it, no SIGKILL was needed


def test_grandchildren_are_waited_for_though_the_leader_is_reaped(tmp_path: Path) -> None:
    release = tmp_path / "release"
    os.mkfifo(release)
    with process_group(GRANDCHILD_CLEANS_UP, str(release)) as group:
        assert group.next_line() == "ready"
        assert group.leader.wait() == 0  # the leader is gone and reaped; its group lives on
        assert len(group_members(group.leader.pid)) == 2

        ending = in_background(group.leader.pid, grace=3600)
        assert group.next_line() == "term"
        assert ending.is_alive()  # the grandchild is still cleaning up
        with release.open("w") as fifo:
            fifo.write("go")
        ending.join(SAFETY_TIMEOUT)

        assert not ending.is_alive()
        assert group.next_line() == "cleaned"  # it ended by itself: not SIGKILLed
        assert group_members(group.leader.pid) == []


REUSED_GROUP_ID = r"""
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from support.pid_reuse import with_pid
from nodepipe.execution.process_groups import end_leftovers, terminate_group
found = {}
for call in ("end_leftovers", "terminate_group"):
    node = subprocess.Popen(["true"], start_new_session=True)  # its own group, which empties
    node.wait()  # reaped: its id is free
    impostor = with_pid(node.pid, ["sleep", "60"])  # a new session leader with that id
    found[call] = repr(end_leftovers(node.pid, grace=0.5)) if call == "end_leftovers" else None
    if call == "terminate_group":
        terminate_group(node.pid, grace=0.5, reaped=True)
    time.sleep(0.2)
    found[call + " left the impostor"] = impostor.poll() is None
    impostor.kill()
    impostor.wait()
print(json.dumps(found))
"""


def test_a_reaped_nodes_group_id_given_to_another_process_is_never_signalled() -> None:
    """A node's process ends and is reaped, and its group id (its pid) is given to another
    process, the leader of a session of its own (made at once in a PID namespace through
    ``ns_last_pid``): ending what the node left, however late, sends that process nothing."""
    tests = str(Path(__file__).resolve().parent.parent)
    namespace = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
    done = subprocess.run(
        [*namespace, sys.executable, "-c", REUSED_GROUP_ID, tests],
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {
        "end_leftovers": "None",
        "end_leftovers left the impostor": True,
        "terminate_group": None,
        "terminate_group left the impostor": True,
    }
