"""Ending a node's whole process group, and how a process's end is told to a person.

A node runs in its own session, so its process group holds everything it started. Ending it is
SIGTERM to the group, a grace period, then SIGKILL to whatever is left: when it is cancelled or
timed out, and when its own process has ended leaving others running (``end_leftovers``).
Nothing polls: the wait is on a pidfd of each member (readable the moment that process ends),
the members listed from ``/proc`` (field ``pgrp`` of ``/proc/<pid>/stat``), because the leader
may be gone already while its children live on. A member that ended counts as ended even
before its parent reaps it.
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from pathlib import Path

KILL_GRACE_SECONDS = 5.0

SETTLE_SECONDS = 0.1
"""How long what a node left running may take to end by itself before it is signalled."""

WATCHED_AT_ONCE = 256
"""Pidfds held at once while waiting: a larger group is waited for in turns."""

_PROC = Path("/proc")


def terminate_group(pgid: int, grace: float = KILL_GRACE_SECONDS, reaped: bool = False) -> None:
    """SIGTERM the process group ``pgid``; SIGKILL it if a member still runs after ``grace``.

    Returns as soon as every member has ended, killed ones included (a process stuck in the
    kernel is waited for no longer than another ``KILL_GRACE_SECONDS``). Members nodepipe may
    not signal (another user's ids) are left, not an error. ``reaped``: the group's leader
    was reaped, so its id may have been given out again once the group emptied
    (``_given_out_again``): then nothing is sent.
    """
    if not _signal_group(pgid, signal.SIGTERM, reaped):
        return
    if _members_ended_by(pgid, time.monotonic() + grace):
        return
    _signal_group(pgid, signal.SIGKILL, reaped)
    _members_ended_by(pgid, time.monotonic() + KILL_GRACE_SECONDS)


def end_leftovers(pgid: int, grace: float = KILL_GRACE_SECONDS) -> tuple[int, int] | None:
    """Once a node's process has ended and been reaped: end what it left running in its group
    (children it did not wait for) as ``terminate_group`` does. None if nothing was left (or
    what was left ended on its own within ``SETTLE_SECONDS``, as the helpers of
    ``multiprocessing`` do once their parent is gone); else how many members were running
    and how many still run (those nodepipe may not signal).

    The first look is one ``kill(-pgid, 0)``: nothing more when the group is empty, which is
    every node that waits for its children."""
    if not group_alive(pgid) or _given_out_again(pgid):
        return None
    if _members_ended_by(pgid, time.monotonic() + SETTLE_SECONDS):
        return None  # only zombies, or processes ending by themselves
    running = len(group_members(pgid))
    terminate_group(pgid, grace, reaped=True)
    return running, 0 if _given_out_again(pgid) else len(group_members(pgid))


def kill_group(pgid: int, reaped: bool) -> None:
    """SIGKILL the group at once (nothing if it has no member; ``reaped`` as for
    ``terminate_group``)."""
    _signal_group(pgid, signal.SIGKILL, reaped)


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a member (one system call; a zombie counts)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a member that took other ids (a set-user-id program) is still a member
    return True


def _signal_group(pgid: int, signum: int, reaped: bool) -> bool:
    """Send ``signum`` to the group; False if there is no such group (any more)."""
    if reaped and _given_out_again(pgid):
        return False
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # none of its members is ours to signal: they are waited for, then left
    return True


def _given_out_again(pgid: int) -> bool:
    """With the group's leader reaped: whether a process or thread has the group's id now.

    The kernel gives out no id that a living process uses as its group's, so while a member
    of the node's group lives, no process has the id; once one has it, the node's group is
    gone and a group with that id is the new process's."""
    return (_PROC / str(pgid)).exists()


def _members_ended_by(pgid: int, deadline: float) -> bool:
    """Wait until no member of the group runs (True), or until ``deadline`` (False).

    Members may fork while they end: the group is listed again once those waited for have ended.
    """
    while True:
        pidfds = _open_members(pgid)
        if not pidfds:
            return True
        try:
            if not _all_ended(pidfds, deadline):
                return False
        finally:
            for pidfd in pidfds:
                os.close(pidfd)


def _open_members(pgid: int) -> list[int]:
    """Pidfds of the group's running members (up to ``WATCHED_AT_ONCE``)."""
    pidfds: list[int] = []
    for pid in group_members(pgid):
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # ended meanwhile
        if _group_of(pid) == pgid:  # still that process, not a new one with its pid
            pidfds.append(pidfd)
        else:
            os.close(pidfd)
        if len(pidfds) == WATCHED_AT_ONCE:
            break
    return pidfds


def _all_ended(pidfds: list[int], deadline: float) -> bool:
    """Wait for every pidfd to become readable (its process ended) until ``deadline``."""
    with selectors.DefaultSelector() as selector:
        for pidfd in pidfds:
            selector.register(pidfd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for key, _ in selector.select(remaining):
                selector.unregister(key.fileobj)
    return True


def group_members(pgid: int) -> list[int]:
    """The pids of the running (not ended) processes of process group ``pgid``."""
    members = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and _group_of(int(entry.name)) == pgid:
            members.append(int(entry.name))
    return members


def _group_of(pid: int) -> int | None:
    """The process group of a running process; None if it has ended (zombie) or is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold anything
    state, pgrp = fields[0], int(fields[2])
    return None if state in ("Z", "X") else pgrp
