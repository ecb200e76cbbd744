"""A real package index for the package tests: pypiserver on 127.0.0.1, a random port.

Uploads need the password of its htpasswd file (``USER``/``PASSWORD``); downloads need none
unless ``authenticate`` says so (``"download,update"``: a private index);
``--disable-fallback`` so nothing it lacks is fetched from anywhere else; a health endpoint
says when it is up. ``stop`` ends exactly the process it started (by its id) and removes its
folders. ``offline_env`` points every proxy variable at a dead port (loopback excepted), so a
test using it proves nothing leaves the machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from support.waiting import wait_for

USER = "alice"
PASSWORD = "s3cret-upload"
DEAD_PROXY = "http://127.0.0.1:9"


def offline_env() -> dict[str, str]:
    """Proxy variables to a dead port, except for loopback: anything else fails to connect."""
    return {
        **{name: DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
        **{name.lower(): DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def free_port() -> int:
    """A TCP port of loopback nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PackageIndex:
    """One running pypiserver; ``url`` uploads, ``simple_url`` is what installers read."""

    root: Path
    authenticate: str = "update"
    """What needs the password: pypiserver's ``--authenticate`` list."""
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple_url(self) -> str:
        return f"{self.url}simple/"

    @property
    def packages(self) -> Path:
        return self.root / "packages"

    def start(self) -> PackageIndex:
        from passlib.apache import HtpasswdFile

        self.packages.mkdir(parents=True, exist_ok=True)
        passwords = HtpasswdFile(str(self.root / "htpasswd"), new=True)
        passwords.set_password(USER, PASSWORD)
        passwords.save()
        self.port = free_port()
        server = Path(sys.executable).parent / "pypi-server"
        command = [str(server), "run", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--passwords", str(self.root / "htpasswd"), "--authenticate", self.authenticate]
        command += ["--disable-fallback", "--health-endpoint", "/health", str(self.packages)]
        log = (self.root / "server.log").open("wb")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._healthy, f"pypiserver on port {self.port} (see {self.root}/server.log)")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"pypiserver exited: {(self.root / 'server.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{self.url}health", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def files(self) -> list[str]:
        return sorted(path.name for path in self.packages.iterdir())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
