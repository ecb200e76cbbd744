"""A server on loopback that accepts connections and never answers (a hung web server)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def silent_server(port: int = 0) -> Iterator[str]:
    """Its base URL (``http://127.0.0.1:PORT``) for the block; every connection is closed after.
    ``port``: that one (a server that answered there before goes silent), else any free one."""
    listener = socket.create_server(("127.0.0.1", port))
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
