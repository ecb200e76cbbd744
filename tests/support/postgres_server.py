"""Throwaway PostgreSQL 15 server for the nodepipe test suite.

This module owns the lifecycle of a private, disposable PostgreSQL cluster used by the store
contract tests: it creates a fresh temporary directory, runs ``initdb`` into it, starts a server
that listens only on ``127.0.0.1`` on a free TCP port (plus a Unix socket inside the temporary
directory), hands out SQLAlchemy URLs for databases created on it, and on ``stop()`` shuts down
exactly that server (identified by its data directory and postmaster pid) and deletes the
temporary directory.

PostgreSQL refuses to run as root. When the tests run as root (as they do in CI), the module
creates -- idempotently, at most once -- an unprivileged system user ``nodepipe-pg``, hands the
temporary directory's data/socket/log paths to that user, and runs ``initdb``, ``pg_ctl`` and the
server as that user (via ``subprocess``'s ``user=``/``group=``/``extra_groups=`` which drop
privileges in the child before exec). When not running as root, everything runs as the current
user.

Missing binaries are an error (``RuntimeError`` naming the path and the Debian package
``postgresql-15``); this module never silently skips.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

try:
    import psycopg
    from psycopg import sql

    _HAVE_PSYCOPG = True
except ImportError:  # fall back to the ``createdb`` binary in create_database()
    _HAVE_PSYCOPG = False

__all__ = ["DEFAULT_BIN_DIR", "SERVER_USER", "PostgresServer", "unprivileged_user"]

DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
"""Where Debian's ``postgresql-15`` package installs the server binaries."""

SERVER_USER = "nodepipe-pg"
"""Unprivileged system user the server runs as when the tests run as root."""

SUPERUSER = "postgres"
"""Database superuser created by ``initdb`` (trust auth, no password)."""

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
_PORT_ATTEMPTS = 3
_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_user_lock = threading.Lock()


@dataclass(frozen=True)
class _RunAs:
    """Identity the PostgreSQL processes run as; ``None`` ids mean "the current user"."""

    uid: int | None
    gid: int | None

    @property
    def drops_privileges(self) -> bool:
        return self.uid is not None


def _server_user_lock_path() -> Path:
    run_lock = Path("/run/lock")
    return (run_lock if run_lock.is_dir() else Path(tempfile.gettempdir())) / (
        f"{SERVER_USER}-useradd.lock"
    )


def _lookup_server_user() -> _RunAs | None:
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        return None
    return _RunAs(uid=entry.pw_uid, gid=entry.pw_gid)


def _ensure_server_user() -> _RunAs:
    """Return the identity to run PostgreSQL as, creating ``SERVER_USER`` if running as root.

    ``useradd`` checks whether the name exists *before* it locks /etc/passwd, so two concurrent
    calls (e.g. pytest-xdist workers) both "succeed" and the second silently rewrites the entry
    with a different uid, pulling the rug from under a server already running as the first one.
    Creation is therefore serialised across processes with an exclusive ``flock``.
    """
    if os.geteuid() != 0:
        return _RunAs(uid=None, gid=None)
    existing = _lookup_server_user()
    if existing is not None:
        return existing
    with _user_lock:
        fd = os.open(_server_user_lock_path(), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            existing = _lookup_server_user()
            if existing is not None:
                return existing
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            result = subprocess.run(
                [
                    useradd,
                    "--system",
                    "--no-create-home",
                    "--user-group",
                    "--shell",
                    "/usr/sbin/nologin",
                    SERVER_USER,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            created = _lookup_server_user()
            if created is None:
                raise RuntimeError(
                    f"could not create the system user {SERVER_USER!r} (useradd exit "
                    f"{result.returncode}): {(result.stderr or result.stdout).strip()}"
                )
            return created
        finally:
            os.close(fd)  # also releases the flock


def unprivileged_user() -> tuple[int, int]:
    """(uid, gid) of ``SERVER_USER``, created when missing. The security tests use it as
    "another OS user of the machine"; only root can create it or act as it."""
    run_as = _ensure_server_user()
    if run_as.uid is None or run_as.gid is None:
        raise RuntimeError(f"acting as {SERVER_USER} needs root: run the tests as root, as CI does")
    return run_as.uid, run_as.gid


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _clean_env() -> dict[str, str]:
    """The caller's environment minus libpq/PG* variables that could redirect the tools."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANG", None)
    return env


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        return f"<could not read {path}: {exc}>"


class PostgresServer:
    """A private PostgreSQL server on ``127.0.0.1``; usable as a context manager.

    >>> with PostgresServer() as server:                  # doctest: +SKIP
    ...     url = server.create_database("store_tests")
    """

    def __init__(self, bin_dir: Path = DEFAULT_BIN_DIR) -> None:
        self._bin_dir = Path(bin_dir)
        self._base_dir: Path | None = None
        self._port: int | None = None
        self._postmaster_pid: int | None = None
        self._run_as = _RunAs(uid=None, gid=None)
        self._atexit_registered = False

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PostgresServer is not running; call start() first")
        return self._port

    @property
    def base_dir(self) -> Path:
        """The temporary directory holding the data dir, socket dir and server log."""
        if self._base_dir is None:
            raise RuntimeError("PostgresServer has no temporary directory; call start() first")
        return self._base_dir

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def running(self) -> bool:
        return self._port is not None

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) for ``database`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string for ``database``, e.g. for ``psycopg.connect``."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """initdb a fresh cluster in a new temporary directory and start the server on it."""
        if self._base_dir is not None:
            raise RuntimeError("PostgresServer.start() called twice")
        self._check_binaries()
        self._run_as = _ensure_server_user()
        self._base_dir = Path(tempfile.mkdtemp(prefix="nodepipe-pg-", dir="/tmp"))
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._prepare_dirs()
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast-stop the server this object started (if any) and delete its temporary directory.

        Idempotent; never touches any server other than the one in our own data directory.
        """
        base_dir = self._base_dir
        if base_dir is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists() or self._postmaster_pid is not None:
                self._stop_server()
        finally:
            self._port = None
            self._postmaster_pid = None
            self._base_dir = None
            shutil.rmtree(base_dir, ignore_errors=True)
            if self._atexit_registered:
                atexit.unregister(self.stop)
                self._atexit_registered = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ databases

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` and return its SQLAlchemy URL."""
        if not _DB_NAME_RE.match(name):
            raise ValueError(f"invalid database name {name!r} (use [A-Za-z_][A-Za-z0-9_]*)")
        port = self.port
        if _HAVE_PSYCOPG:
            with psycopg.connect(self.conninfo(), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            createdb = self._bin_dir / "createdb"
            self._run(
                [str(createdb), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, name],
                what=f"createdb {name}",
            )
        return self.url(name)

    # ------------------------------------------------------------------ internals

    def _check_binaries(self) -> None:
        for binary in _REQUIRED_BINARIES:
            path = self._bin_dir / binary
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise RuntimeError(
                    f"PostgreSQL binary {path} not found or not executable; the store tests need "
                    f"a PostgreSQL 15 server (Debian/Ubuntu: apt-get install postgresql-15)"
                )

    def _prepare_dirs(self) -> None:
        base = self.base_dir
        # mkdtemp creates 0700; the server user must be able to traverse into it.
        base.chmod(0o755)
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir(mode=0o700)
        self.log_file.touch(mode=0o600)
        uid, gid = self._run_as.uid, self._run_as.gid
        if uid is not None and gid is not None:
            for path in (self.data_dir, self.socket_dir, self.log_file):
                os.chown(path, uid, gid)

    def _run(self, argv: list[str], *, what: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if self._run_as.drops_privileges:
            kwargs.update(user=self._run_as.uid, group=self._run_as.gid, extra_groups=[])
        result = subprocess.run(
            argv,
            cwd=self.base_dir,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed (exit {result.returncode}): {shlex.join(argv)}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
            )
        return result

    def _initdb(self) -> None:
        self._run(
            [
                str(self._bin_dir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--auth=trust",
                f"--username={SUPERUSER}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            what="initdb",
        )

    def _server_options(self, port: int) -> str:
        settings = {
            "port": str(port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        return " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items())

    def _start_server(self) -> None:
        pg_ctl = str(self._bin_dir / "pg_ctl")
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = _free_loopback_port()
            self.log_file.write_text("")
            try:
                self._run(
                    [
                        pg_ctl,
                        "--pgdata",
                        str(self.data_dir),
                        "--log",
                        str(self.log_file),
                        "--wait",
                        "--timeout",
                        str(START_TIMEOUT_S),
                        "--options",
                        self._server_options(port),
                        "start",
                    ],
                    what="pg_ctl start",
                )
            except RuntimeError as exc:
                log = _read_text(self.log_file)
                # Another process grabbed the port between our probe and the server's bind.
                if "Address already in use" in log and attempt < _PORT_ATTEMPTS:
                    self._stop_server()
                    continue
                raise RuntimeError(
                    f"PostgreSQL failed to start or accept connections within {START_TIMEOUT_S}s "
                    f"(data dir {self.data_dir}).\n{exc}\n--- server log {self.log_file} ---\n"
                    f"{log}"
                ) from None
            self._port = port
            self._postmaster_pid = self._read_postmaster_pid()
            return

    def _read_postmaster_pid(self) -> int | None:
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first_line.strip())
        except (OSError, IndexError, ValueError):
            return None

    def _pid_belongs_to_us(self, pid: int) -> bool:
        """True if ``pid`` is a live postgres process started on our data directory."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return (
            bool(cmdline)
            and Path(os.fsdecode(cmdline[0])).name in {"postgres", "postmaster"}
            and os.fsencode(str(self.data_dir)) in cmdline
        )

    def _stop_server(self) -> None:
        pid = self._postmaster_pid or self._read_postmaster_pid()
        try:
            self._run(
                [
                    str(self._bin_dir / "pg_ctl"),
                    "--pgdata",
                    str(self.data_dir),
                    "--mode",
                    "fast",
                    "--wait",
                    "--timeout",
                    str(STOP_TIMEOUT_S),
                    "stop",
                ],
                what="pg_ctl stop",
            )
        except RuntimeError:
            # pg_ctl could not stop it (or it was already gone). Fall back to signalling the
            # postmaster pid we recorded, but only if it still runs on *our* data directory.
            if pid is None or not self._pid_belongs_to_us(pid):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while time.monotonic() < deadline and self._pid_belongs_to_us(pid):
                time.sleep(0.05)
