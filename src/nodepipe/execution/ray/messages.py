"""What the Ray cluster tells the driver, kept in a file instead of on nodepipe's output.

Ray's driver prints every error the cluster pushes to it (a worker that died or was killed, a
node marked dead, a worker killed for memory) on the process's **stdout**, prefixed
``(raylet)`` and coloured, from a thread of its own, whatever ``log_to_driver`` says
(``ray._private.worker.listen_error_messages``). In a nodepipe command that is the output a
script reads (``nodepipe run --json``), and the same news already comes in nodepipe's words
(the node run failed: "the Ray worker running the node died: ...").

So while nodepipe holds a connection it opened (``cluster``), those messages go to
``nodepipe-ray-messages-<pid>.log`` in the driver's Ray log folder (beside Ray's own logs of
the driver, ``python-core-driver-*.log``), one timestamped line each, and nodepipe's errors
about a Ray worker name that file (``messages_file``). Nothing is hidden: the first message
also puts one line naming the file on stderr (a message may be news that no error of
nodepipe's carries), and a message that cannot be written there is printed as Ray prints
it. A connection the embedding program opened itself is left as it is (its messages are its
own).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ray._private.worker as ray_worker

_RAY_PRINTER = "print_to_stdstream"
"""The function of ``ray._private.worker`` through which the driver prints what it hears."""


class _Messages:
    """The file Ray's messages go to while nodepipe's connection is open, and Ray's printer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file: Path | None = None
        self._printer: Any = None
        self._said = False

    def keep(self) -> None:
        """Send Ray's messages to the file from now on (nodepipe just connected)."""
        printer = getattr(ray_worker, _RAY_PRINTER, None)
        if printer is None or self._printer is not None:  # another Ray, or kept already
            return
        path = _logs_dir() / f"nodepipe-ray-messages-{os.getpid()}.log"
        with contextlib.suppress(OSError):
            path.touch()
        with self._lock:
            self._file, self._printer, self._said = path, printer, False
        setattr(ray_worker, _RAY_PRINTER, self._write)

    def release(self) -> None:
        """Ray prints its messages again (nodepipe's connection is closed)."""
        with self._lock:
            printer, self._printer, self._file = self._printer, None, None
        if printer is not None:
            setattr(ray_worker, _RAY_PRINTER, printer)

    def file(self) -> Path | None:
        with self._lock:
            return self._file

    def _write(self, data: dict[str, Any], ignore_prefix: bool) -> None:
        """Ray's printer, for what comes from the cluster (``raylet``); Ray's own for the
        rest, and for what the file cannot take."""
        with self._lock:
            path, printer = self._file, self._printer
        if data.get("pid") == "raylet" and path is not None:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            text = "".join(f"{now} {line}\n" for line in data.get("lines", []))
            try:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError:
                pass
            else:
                self._point_at(path)
                return
        if printer is not None:
            printer(data, ignore_prefix)

    def _point_at(self, path: Path) -> None:
        """Say once per connection, on stderr (never stdout: a script reads that), where
        Ray's messages are: one may be news no error of nodepipe's carries."""
        with self._lock:
            said, self._said = self._said, True
        if not said:
            with contextlib.suppress(OSError, ValueError):  # stderr closed: nothing to say
                sys.stderr.write(f"nodepipe: the Ray cluster sent messages; they are in {path}\n")
                sys.stderr.flush()


def _logs_dir() -> Path:
    """The driver's Ray log folder (a temporary folder if Ray does not say)."""
    with contextlib.suppress(Exception):
        node = ray_worker._global_node  # Ray names it nowhere else
        if node is not None:
            return Path(node.get_logs_dir_path())
    return Path(tempfile.gettempdir())


_MESSAGES = _Messages()


def keep() -> None:
    """Ray's messages to the driver go to ``messages_file()`` (call once connected)."""
    _MESSAGES.keep()


def release() -> None:
    """Ray's messages are printed again (call once disconnected)."""
    _MESSAGES.release()


def messages_file() -> Path | None:
    """Where Ray's messages to this process went, if nodepipe kept them (None: Ray printed
    them, on a connection that nodepipe did not open)."""
    return _MESSAGES.file()
