"""What a fork-server client sends, as the server reads it: bounded, checked, else nothing.

One message on a unix socket: 8 bytes of length (big-endian), then NUL-separated fields (the
installation key in hex, the current folder, the umask, the signals the client ignores, the
argument count, the arguments, then ``NAME=value`` environment entries). Once the worker
answered its pid (with a pidfd of itself), the client's go-ahead ``G`` brings its standard
streams 0, 1 and 2 as ``SCM_RIGHTS`` descriptors. Only a peer of the server's own
user and process attributes is read (:func:`same_process_attributes`); a request over
:data:`MAX_REQUEST`, without exactly three
descriptors, for another key or malformed in any way is refused, and the descriptors it
brought are closed.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from nodepipe.cli.fork_client import MAX_REQUEST, identity

_IGNORABLE = frozenset(
    {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH}
)


class Request:
    """What a client sent: its command line, environment, folder, umask and streams."""

    __slots__ = ("argv", "cwd", "environment", "fds", "ignored", "umask")

    def __init__(
        self,
        argv: list[str],
        cwd: bytes,
        environment: list[bytes],
        umask: int,
        ignored: list[int],
        fds: list[int],
    ) -> None:
        self.argv = argv
        self.ignored = ignored
        self.cwd = cwd
        self.environment = environment
        self.umask = umask
        self.fds = fds


def read_request(connection: socket.socket, key: bytes) -> Request | None:
    """The request on ``connection`` (a blocking socket with a timeout), None if refused. Its
    streams come later, with the client's go-ahead (:func:`receive_go`).

    Raises OSError when the connection fails before the request is whole."""
    if not same_process_attributes(connection):
        return None
    head, fds = _receive_with_fds(connection, 8)
    size = int.from_bytes(head, "big") if len(head) == 8 and not fds else MAX_REQUEST + 1
    for fd in fds:
        os.close(fd)
    return _parse(_receive(connection, size), key, []) if size <= MAX_REQUEST else None


def receive_go(connection: socket.socket) -> list[int] | None:
    """The client's go-ahead (``G``) with its standard streams 0, 1 and 2; None if it went.

    The streams are sent only now: a server that never answers holds none of them."""
    go, fds = _receive_with_fds(connection, 1)
    if go == b"G" and len(fds) == 3:
        return fds
    for fd in fds:
        os.close(fd)
    return None


def _receive_with_fds(connection: socket.socket, size: int) -> tuple[bytes, list[int]]:
    data, ancillary, _, _ = connection.recvmsg(size, socket.CMSG_SPACE(3 * 4))
    fds = [
        int.from_bytes(found[i : i + 4], sys.byteorder)
        for level, kind, found in ancillary
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
        for i in range(0, len(found) - len(found) % 4, 4)
    ]
    return data, fds


def same_process_attributes(connection: socket.socket) -> bool:
    """Whether the peer (the kernel's word: ``SO_PEERCRED``) is of this user and has this
    process's :func:`~nodepipe.cli.fork_client.identity`: the same namespaces, limits,
    capabilities... A command served to any other would run outside its caller's sandbox."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    pid = int.from_bytes(credentials[0:4], sys.byteorder)
    if int.from_bytes(credentials[4:8], sys.byteorder) != os.getuid() or pid <= 0:
        return False
    try:
        return identity(b"%d" % pid) == identity(b"self")
    except OSError:  # not ours to read (another namespace's, more privileged): not served
        return False


def _receive(connection: socket.socket, size: int) -> bytes:
    payload = bytearray()
    while len(payload) < size:
        chunk = connection.recv(min(size - len(payload), 1 << 16))
        if not chunk:
            break
        payload += chunk
    return bytes(payload)


def _parse(payload: bytes, key: bytes, fds: list[int]) -> Request | None:
    fields = payload.split(b"\0")
    if len(fields) < 6:
        return None
    sent_key, cwd, umask, ignoring, count = fields[:5]
    try:
        argc = int(count)
        numbers = [int(number) for number in ignoring.split(b",")] if ignoring else []
        mask = int(umask) & 0o777
    except ValueError:
        return None
    if sent_key != key.hex().encode() or argc < 1 or len(fields) < 5 + argc:
        return None
    argv = [os.fsdecode(argument) for argument in fields[5 : 5 + argc]]
    environment = [item for item in fields[5 + argc :] if b"=" in item[1:]]
    ignored = [number for number in numbers if number in _IGNORABLE]
    return Request(argv, cwd, environment, mask, ignored, fds)


def ending(status: int, user: int, system: int) -> bytes:
    """What the client gets when its command ended: ``X``, the wait status, then the user and
    system CPU time in microseconds."""
    return b"X" + status.to_bytes(4, "big") + user.to_bytes(6, "big") + system.to_bytes(6, "big")
