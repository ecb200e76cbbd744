"""A throwaway Ray cluster on loopback, inside its own network and PID namespaces.

Ray opens ports on every interface even when told to use loopback, and ``ray stop`` stops every
Ray process it can see. So nothing Ray-related runs in the caller's namespaces: the code that
starts the cluster and talks to it is re-executed under

    unshare --net --pid --fork --mount-proc --kill-child sh -c 'ip link set lo up && "$@"' ...

A new network namespace has only ``lo``, so nothing can listen beyond loopback; a new PID
namespace (with its own ``/proc``) means ``ray stop`` sees only our processes, and when its first
process ends (or ``unshare`` dies: ``--kill-child``) the kernel kills everything left in it.
``sh`` stays PID 1 and reaps the daemons ``ray start`` leaves behind. The tests run as root (as
in CI); unshare failing is an error, never a skip.

How the tests use it (``tests/integration/test_ray_executor.py``):

- Outside, each test marked ``@in_ray_namespace`` is replaced by a stand-in that asks the
  ``ray_namespace_results`` fixture for its outcome. That fixture runs pytest once on the same
  file inside a namespace (``run_pytest_in_namespace``), reads its JUnit XML report, and shares the
  results with every pytest-xdist worker through a file lock in the session's temporary directory,
  so the Ray tests run once per session. A failing inner test fails its stand-in with the inner
  report; the assertions stay plain pytest assertions in the real tests.
- Inside (``NODEPIPE_TEST_RAY_NAMESPACE=1``), the real tests run, and ``RayCluster`` starts a head
  node with ``ray start --head --node-ip-address=127.0.0.1`` on a free port (usage stats and the
  dashboard off, its temporary and object-store files in a private directory) and ``ray stop``s
  it afterwards. ``RayCluster`` refuses to start unless it really is inside such a namespace.

The benchmark ``tests/bench/bench_ray.py`` uses ``run_in_namespace`` the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from xml.etree import ElementTree

NAMESPACE_MARK = "NODEPIPE_TEST_RAY_NAMESPACE"
"""Set to ``1`` in the environment of everything that runs inside the private namespaces."""

INNER_TIMEOUT_S = 900
START_TIMEOUT_S = 120
_ENTER = 'ip link set lo up && "$@"'


def inside_namespace() -> bool:
    return os.environ.get(NAMESPACE_MARK) == "1"


def namespace_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped to run in new network and PID namespaces with only ``lo`` up."""
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"the Ray tests need {' and '.join(missing)} (Debian: util-linux, iproute2) to start "
            "Ray in a private network namespace"
        )
    return [
        "unshare",
        "--net",
        "--pid",
        "--fork",
        "--mount-proc",
        "--kill-child",
        "sh",
        "-c",
        _ENTER,
        "sh",
        *argv,
    ]


def namespace_env() -> dict[str, str]:
    """The caller's environment for the inner process: marked, without pytest's own variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("RAY_ADDRESS", None)
    env[NAMESPACE_MARK] = "1"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Recent Ray (2.60) turns token authentication on for a cluster that ray.init() starts, and
    # writes the token to ~/.ray/auth_token, outside the namespace. Nothing in the namespace is
    # reachable from outside it anyway.
    env["RAY_AUTH_MODE"] = "disabled"
    return env


def run_in_namespace(
    argv: Sequence[str], *, timeout: float = INNER_TIMEOUT_S, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside fresh namespaces; everything it started dies with it."""
    result = subprocess.run(
        namespace_argv(argv),
        env=namespace_env(),
        stdin=subprocess.DEVNULL,
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0 and "unshare failed" in (result.stderr or ""):
        raise RuntimeError(
            "cannot create the private namespaces for Ray (the Ray tests run as root, as in CI): "
            f"{result.stderr.strip()}"
        )
    return result


# Inside the namespace: the cluster ------------------------------------------------------------


def _require_private_namespace() -> None:
    """Refuse to start or stop Ray anywhere but inside the namespaces made above."""
    interfaces = sorted(name for _, name in socket.if_nameindex())
    try:
        first_process_env = Path("/proc/1/environ").read_bytes().split(b"\0")
    except OSError:
        first_process_env = []
    if (
        not inside_namespace()
        or interfaces != ["lo"]
        or f"{NAMESPACE_MARK}=1".encode() not in first_process_env
    ):
        raise RuntimeError(
            "refusing to start or stop Ray outside a private network and PID namespace "
            f"(interfaces: {interfaces}); run it through run_in_namespace()"
        )


def _ray_cli() -> str:
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.is_file() else shutil.which("ray")
    if found is None:
        raise RuntimeError("the `ray` command is missing: pip install -e '.[dev,ray]'")
    return found


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RayCluster:
    """A Ray head node on 127.0.0.1 with ``num_cpus`` CPUs; a context manager. With
    ``sigint_ignored``, its processes (the workers too) ignore SIGINT, as those of a cluster
    started by a command that ignores it (a script's background command)."""

    def __init__(self, num_cpus: int = 2, sigint_ignored: bool = False) -> None:
        self.num_cpus = num_cpus
        self.sigint_ignored = sigint_ignored
        self.address = ""
        self._dir: Path | None = None

    def start(self) -> None:
        _require_private_namespace()
        # Short: Ray's Unix socket paths live under it and must stay under 108 bytes.
        self._dir = Path(tempfile.mkdtemp(prefix="nprt-", dir="/tmp"))
        port = _free_loopback_port()
        argv = [
            _ray_cli(),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--disable-usage-stats",
            "--include-dashboard=false",
            f"--num-cpus={self.num_cpus}",
            "--num-gpus=0",
            "--object-store-memory=100000000",
            f"--plasma-directory={self._dir}",
            f"--temp-dir={self._dir}",
        ]
        if self.sigint_ignored:
            argv = ["sh", "-c", 'trap "" INT && exec "$@"', "sh", *argv]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(
                f"ray start failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        self.address = f"127.0.0.1:{port}"

    def add_worker(
        self, num_cpus: int, hide: Path, resources: dict[str, float], env: dict[str, str]
    ) -> None:
        """A second Ray node on this machine that does not see ``hide``: it starts in a mount
        namespace of its own with an empty tmpfs over that folder, as a cloud worker that has
        only its image. ``resources``: its custom resources; ``env``: added to its variables."""
        _require_private_namespace()
        argv = [
            "unshare",
            "--mount",
            "--propagation=private",
            "sh",
            "-c",
            'mount -t tmpfs -o size=16m nodepipe-hidden "$0" && exec "$@"',
            str(hide),
            _ray_cli(),
            "start",
            f"--address={self.address}",
            "--node-ip-address=127.0.0.1",
            "--disable-usage-stats",
            f"--num-cpus={num_cpus}",
            "--num-gpus=0",
            f"--resources={json.dumps(resources)}",
            "--object-store-memory=100000000",
        ]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
            env={**os.environ, **env},
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"ray start of a worker failed (exit {result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}"
            )

    def stop(self) -> None:
        if self._dir is None:
            return
        _require_private_namespace()
        subprocess.run(
            [_ray_cli(), "stop", "--force"], capture_output=True, timeout=120, check=False
        )
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None
        self.address = ""

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


# Outside the namespace: running the Ray tests inside it ---------------------------------------


@dataclass(frozen=True)
class NamespaceResults:
    """Outcome of each test function of the inner pytest session, by test name."""

    outcomes: dict[str, str]
    details: dict[str, str]
    output: str

    def check(self, name: str) -> None:
        """Fail (via AssertionError) unless the inner run of ``name`` passed."""
        outcome = self.outcomes.get(name)
        if outcome is None:
            raise AssertionError(
                f"{name} did not run inside the Ray namespace; inner output:\n{self.output}"
            )
        if outcome != "passed":
            raise AssertionError(
                f"{name} {outcome} inside the Ray namespace:\n{self.details.get(name, '')}"
            )

    def to_json(self) -> str:
        return json.dumps(
            {"outcomes": self.outcomes, "details": self.details, "output": self.output}
        )

    @classmethod
    def from_json(cls, text: str) -> NamespaceResults:
        data: dict[str, Any] = json.loads(text)
        return cls(data["outcomes"], data["details"], data["output"])


def run_pytest_in_namespace(test_file: Path, workdir: Path) -> NamespaceResults:
    """Run pytest on ``test_file`` inside the namespaces; its temporary files go in ``workdir``."""
    report = workdir / "junit.xml"
    result = run_in_namespace(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            f"--basetemp={workdir / 'tmp'}",
            f"--junitxml={report}",
            "-o",
            "junit_family=xunit2",
        ]
    )
    output = f"{result.stdout}\n{result.stderr}".strip()
    if not report.is_file():
        raise AssertionError(
            f"the Ray tests did not run inside the namespace (exit {result.returncode}):\n{output}"
        )
    outcomes: dict[str, str] = {}
    details: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = case.get("name", "").split("[", 1)[0]
        outcomes[name], details[name] = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcomes[name] = {"failure": "failed", "error": "errored"}.get(kind, kind)
                details[name] = f"{element.get('message', '')}\n{element.text or ''}"
                break
    return NamespaceResults(outcomes, details, output)


def shared_namespace_results(test_file: Path, session_dir: Path) -> NamespaceResults:
    """Run the inner session once per pytest session, whatever the number of xdist workers."""
    workdir = session_dir / f"ray-namespace-{test_file.stem}"
    workdir.mkdir(parents=True, exist_ok=True)
    cached = workdir / "results.json"
    with (workdir / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cached.is_file():
            return NamespaceResults.from_json(cached.read_text())
        results = run_pytest_in_namespace(test_file, workdir)
        cached.write_text(results.to_json())
        return results


def in_ray_namespace(test: Callable[..., None]) -> Callable[..., None]:
    """Inside the namespace: ``test`` itself. Outside: a stand-in reporting its inner outcome.

    The test module must define the module-scoped fixture ``ray_namespace_results``.
    """
    if inside_namespace():
        return test

    def stand_in(ray_namespace_results: NamespaceResults) -> None:
        ray_namespace_results.check(test.__name__)

    # No functools.wraps: pytest would follow __wrapped__ and ask for the inner fixtures.
    stand_in.__name__ = test.__name__
    stand_in.__qualname__ = test.__qualname__
    stand_in.__doc__ = test.__doc__
    stand_in.__module__ = test.__module__
    return stand_in


def session_directory(basetemp: Path) -> Path:
    """The directory shared by every xdist worker of this session (the basetemp otherwise)."""
    with contextlib.suppress(KeyError):
        if os.environ["PYTEST_XDIST_WORKER"]:
            return basetemp.parent
    return basetemp
