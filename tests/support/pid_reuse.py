"""A pid taken over on purpose: a served run's worker ends and an impostor gets its pid.

Pid reuse happens for real after a wrap-around; a test makes it at once in a PID namespace of
its own (``unshare --pid --fork --mount-proc --kill-child``, as root, as in CI): writing
``/proc/sys/kernel/ns_last_pid`` = P - 1 gives the next process forked there the pid P.
:func:`in_pid_namespace` runs :func:`main` so, and everything it started dies with it.

The scenario (:func:`main`, in the namespace): a served ``nodepipe run`` whose node ``load``
waits for a gate file; its client is stopped (SIGSTOP) while the worker runs; the gate opens,
the run completes, the server reaps the worker; an impostor (``sleep``, the leader of a
session and process group of its own, as a daemon or a shell's job is) is started with the
worker's pid, so also with the worker's group id; the client gets SIGINT (which it forwards
to the worker's group) and SIGTERM (to the worker), then SIGCONT. It prints, as JSON, the
client's exit status, its standard error and how the impostor ended (None: it lives on).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
_NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


def in_pid_namespace(
    nodepipe: list[str],
    workspace: Path,
    runtime: Path,
    started: Path,
    gate: Path,
    env: dict[str, str],
) -> dict[str, object]:
    """Run the scenario of :func:`main` in a new PID namespace (``nodepipe``: the program's
    command line); what it found."""
    code = "import sys; sys.path.insert(0, sys.argv[1]); from support.pid_reuse import main; main()"
    paths = (workspace, runtime, started, gate)
    argv = [sys.executable, "-c", code, str(TESTS), json.dumps(nodepipe), *map(str, paths)]
    done = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"the scenario failed: {done.stdout}\n{done.stderr}"
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def main() -> None:
    """The scenario, in the namespace: ``argv`` is the program (a JSON list), the workspace,
    the socket folder (``XDG_RUNTIME_DIR``), the file ``load`` writes once started, its gate."""
    nodepipe: list[str] = json.loads(sys.argv[2])
    workspace, runtime = sys.argv[3:5]
    started, gate = Path(sys.argv[5]), Path(sys.argv[6])
    if os.getpid() != 1:
        raise SystemExit("not in a PID namespace of its own")
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime, "NODEPIPE_FORK_SERVER": "1"}
    logs = Path(runtime) / "nodepipe"
    try:
        first = subprocess.run(
            [*nodepipe, "-w", workspace, "status", "baseline"], env=env, capture_output=True
        )
        assert first.returncode == 0, first.stderr
        _wait_for(lambda: "serving" in _log(logs), "the fork server to serve")
        client = subprocess.Popen(
            [*nodepipe, "-w", workspace, "run", "baseline"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _wait_for(started.exists, "load to start")
        worker = int(re.findall(r"\] worker (\d+): run", _log(logs))[-1])
        client.send_signal(signal.SIGSTOP)
        _wait_for(lambda: _state(client.pid) == "T", "the client to stop")
        gate.write_text("open")
        _wait_for(lambda: not Path(f"/proc/{worker}").exists(), "the worker to be reaped")
        impostor = with_pid(worker, ["sleep", "60"])
        assert os.getpgid(impostor.pid) == worker, "the impostor leads no group"
        for forwarded in (signal.SIGINT, signal.SIGTERM):
            client.send_signal(forwarded)
        client.send_signal(signal.SIGCONT)
        _, err = client.communicate(timeout=60)
        try:  # a signal sent to it before the client ended kills it at once
            ended: int | None = impostor.wait(timeout=2)
        except subprocess.TimeoutExpired:
            ended = None
            impostor.kill()
            impostor.wait()
    finally:
        shutil.rmtree(logs, ignore_errors=True)  # its pids mean nothing outside
    result = {"client": client.returncode, "stderr": err.decode(), "impostor_ended": ended}
    print(json.dumps(result))


def with_pid(pid: int, argv: list[str]) -> subprocess.Popen[bytes]:
    """``argv`` started with the pid ``pid`` (free in this namespace) in a session of its own,
    retried if another process took the pid first."""
    for _ in range(20):
        _NS_LAST_PID.write_text(str(pid - 1))
        started = subprocess.Popen(argv, start_new_session=True)
        if started.pid == pid:
            return started
        started.kill()
        started.wait()
    raise AssertionError(f"could not start a process with the pid {pid}")


def _log(folder: Path) -> str:
    return "".join(log.read_text() for log in folder.glob("fork-*.log"))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _wait_for(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
