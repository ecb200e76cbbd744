"""What a fork-server client sends, as the server reads it: bounded, checked, else nothing.

One message on a unix socket: 8 bytes of length (big-endian), then NUL-separated fields (the
installation key in hex, the current folder, the umask, the signals the client ignores, the
argument count, the arguments, then ``NAME=value`` environment entries), with the client's
standard streams 0, 1 and 2 as ``SCM_RIGHTS`` descriptors. Only a peer of the server's own
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
    """The request on ``connection`` (a blocking socket with a timeout), None if refused.

    Raises OSError when the connection fails before the request is whole."""
    if not same_process_attributes(connection):
        return None
    head, ancillary, _, _ = connection.recvmsg(8, socket.CMSG_SPACE(3 * 4))
    fds = [
        int.from_bytes(data[i : i + 4], sys.byteorder)
        for level, kind, data in ancillary
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
        for i in range(0, len(data) - len(data) % 4, 4)
    ]
    request = None
    try:
        size = int.from_bytes(head, "big") if len(head) == 8 else MAX_REQUEST + 1
        if len(fds) == 3 and size <= MAX_REQUEST:
            request = _parse(_receive(connection, size), key, fds)
        return request
    finally:
        if request is None:
            for fd in fds:
                os.close(fd)


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
