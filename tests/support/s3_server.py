"""An S3-compatible server on loopback for the storage tests: moto in server mode.

``S3Server`` starts ``moto_server`` on a free 127.0.0.1 port, creates a bucket, and gives the
environment s3fs (through botocore) reads: the endpoint (``AWS_ENDPOINT_URL``) and throwaway
credentials, the usual places a user's own credentials come from. Stopped (and its data gone)
when the context ends.

fsspec keeps one S3 filesystem per set of arguments in a process, and the endpoint comes from the
environment, not the arguments: a filesystem made for an earlier server of the same test process
would still call that (stopped) server. Starting and stopping a server forgets them.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

from support.waiting import wait_for

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class S3Server:
    """moto's S3 on ``endpoint`` with the bucket ``bucket``; a context manager."""

    def __init__(self, bucket: str = "nodepipe-test") -> None:
        self.bucket = bucket
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def __enter__(self) -> Self:
        _forget_cached_filesystems()
        moto = Path(sys.executable).with_name("moto_server")
        self._process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._up, "moto's S3 server to answer", timeout=60)
        request = urllib.request.Request(f"{self.endpoint}/{self.bucket}", method="PUT")
        _DIRECT.open(request, timeout=10).close()
        return self

    def _up(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {self._process.returncode}")
        try:
            _DIRECT.open(self.endpoint, timeout=2).close()
        except OSError:
            return False
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None
        _forget_cached_filesystems()


def _forget_cached_filesystems() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
