"""The fork server (``cli.fork_client``, ``cli.fork_server``): a ``nodepipe run`` or ``status``
after the first is run by a worker forked from a process that has already imported nodepipe,
and behaves exactly as the command in its own process: the same output and exit status, the
client's folder, environment and umask, Ctrl-C, a kill; never for another user, never through
a socket folder that is not the user's own, never with nodepipe's code changed under it; a
signal to the client never reaches a process that took its ended worker's pid.

Every test compares with the same command run with the server off (``NODEPIPE_FORK_SERVER=0``),
and proves a command was served by the server's log (one ``worker <pid>`` line per command).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nodepipe
import support
from nodepipe.cli.fork_client import CPU_FILE_ENV, IDLE_ENV, SWITCH_ENV
from nodepipe.domain.runs import NodeRunState
from support.fork_servers import server_pids, stop_servers
from support.other_user import OtherUser
from support.pid_reuse import in_pid_namespace
from support.waiting import wait_for

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
OLD_KERNEL = [sys.executable, str(Path(support.__file__).parent / "old_kernel.py")]
"""With a version, runs a program as on a Linux before it (``support.old_kernel``)."""
SLEEP = (
    "import os, pathlib, time\n"
    "(pathlib.Path(os.environ['NODEPIPE_REPORTS_DIR']) / 'started').write_text('y')\n"
    "time.sleep(600)\n"
)
QUICK = "pass\n"


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` (short: a socket's path is at most 107 bytes); the
    servers started in it are stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="np-fork-", dir="/tmp"))
    yield folder
    stop_servers(folder, [])
    shutil.rmtree(folder, ignore_errors=True)


def environment(runtime: Path, on: bool = True, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NODEPIPE_WORKSPACE"}
    return {**env, SWITCH_ENV: "1" if on else "0", "XDG_RUNTIME_DIR": str(runtime), **extra}


def nodepipe_(
    env: dict[str, str], *args: str, cwd: Path | None = None, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NODEPIPE, *args],
        env=env,
        cwd=cwd,
        umask=umask,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def log_of(runtime: Path) -> str:
    return "".join(log.read_text() for log in (runtime / "nodepipe").glob("fork-*.log"))


def served(runtime: Path) -> int:
    """How many commands the servers of ``runtime`` have run (their log's worker lines)."""
    return len(re.findall(r"\] worker \d+: ", log_of(runtime)))


def last_worker(runtime: Path) -> int:
    return int(re.findall(r"\] worker (\d+): ", log_of(runtime))[-1])


def warm(ws: nodepipe.Workspace, runtime: Path) -> int:
    """Run one command (it starts a server) and wait until the server serves; its pid."""
    first = nodepipe_(environment(runtime), "-w", str(ws.root), "status", "baseline")
    assert first.returncode == 0, first.stderr
    wait_for(lambda: "serving" in log_of(runtime), "the fork server to start", 60)
    (pid,) = server_pids(runtime / "nodepipe")
    return pid


def write_main(ws: nodepipe.Workspace, tag: str, code: str) -> None:
    (ws.nodes.path(tag) / "code" / "main.py").write_text(code)


def quick_chain(ws: nodepipe.Workspace) -> None:
    for tag in ("load", "clean", "plot"):
        write_main(ws, tag, QUICK)


def stopped_then_continued(client: subprocess.Popen[str], worker: int, gate: Path) -> None:
    """Ctrl-Z (SIGTSTP to the client) stops the worker; the gate opens; fg (SIGCONT) lets
    the run go on to its end, all three nodes completed."""
    client.send_signal(signal.SIGTSTP)  # what Ctrl-Z sends
    wait_for(lambda: _state(worker) == "T", "the worker to stop")
    # a shell offers fg only once the job stopped: the client stops itself after the worker
    wait_for(lambda: _state(client.pid) == "T", "the client to stop")
    gate.write_text("y")
    client.send_signal(signal.SIGCONT)  # what fg sends
    out, err = client.communicate(timeout=120)
    assert client.returncode == 0, err
    assert "3 completed" in out


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def gated_chain(ws: nodepipe.Workspace, gate: Path) -> None:
    """``quick_chain``, but ``load`` says it started (``reports/started``) then waits for the
    file ``gate`` to exist."""
    quick_chain(ws)
    write_main(
        ws,
        "load",
        "import os, pathlib, time\n"
        "(pathlib.Path(os.environ['NODEPIPE_REPORTS_DIR']) / 'started').write_text('y')\n"
        f"while not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.05)\n",
    )


def run_until_load_starts(
    chain: nodepipe.Workspace, env: dict[str, str], *more: str, **popen: Any
) -> subprocess.Popen[str]:
    """``nodepipe run baseline`` (then ``more``) started, once its node ``load`` has started
    (it writes ``reports/started``); its output on pipes, text. Given ``cwd``, the workspace
    is found from there (no ``-w``)."""
    started = chain.nodes.path("load") / "reports" / "started"
    started.unlink(missing_ok=True)
    where = [] if "cwd" in popen else ["-w", str(chain.root)]
    client = subprocess.Popen(
        [NODEPIPE, *where, "run", "baseline", *more],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    wait_for(started.exists, "load to start")
    return client


def test_a_command_after_the_first_is_served_with_the_same_output_and_exit_status(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    quick_chain(chain)
    root = str(chain.root)
    warm(chain, runtime)
    commands: list[tuple[tuple[str, ...], int]] = [
        (("-w", root, "status", "baseline"), 0),
        (("-w", root, "status", "baseline", "--json"), 0),
        (("-w", root, "status", "no-such-pipeline"), 3),  # not found
        (("-w", root, "run"), 2),  # usage error
        (("-w", root, "run", "baseline", "--dry-run", "--force"), 0),
        (("--workspace", root, "run", "baseline", "--force", "--jobs", "1"), 0),
    ]
    for args, code in commands:
        before = served(runtime)
        with_server = nodepipe_(environment(runtime), *args)
        assert served(runtime) == before + 1, f"{args} was not served"
        alone = nodepipe_(environment(runtime, on=False), *args)
        assert served(runtime) == before + 1
        assert (with_server.returncode, alone.returncode) == (code, code), with_server.stderr
        if "--force" not in args or "--dry-run" in args:
            assert with_server.stdout == alone.stdout
            assert with_server.stderr == alone.stderr
        else:  # a run: its own id in its last line
            assert "3 completed, 0 failed" in with_server.stdout
    write_main(chain, "clean", "raise SystemExit(3)\n")
    failed = nodepipe_(environment(runtime), "-w", root, "run", "baseline")
    assert failed.returncode == 8, failed.stderr  # a node failed: the exit-code table's
    assert "clean" in failed.stdout + failed.stderr


def test_the_worker_takes_the_clients_folder_environment_and_umask(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    quick_chain(chain)
    seen = tmp_path / "seen"
    write_main(
        chain,
        "load",
        f"import os, pathlib\npathlib.Path({str(seen)!r}).write_text("
        "os.environ.get('OMP_NUM_THREADS', 'unset'))\n",
    )
    warm(chain, runtime)
    answers = {}
    for on in (True, False):
        seen.unlink(missing_ok=True)
        before = served(runtime)
        # no -w: the workspace is found from the client's folder; the node passes OMP_NUM_THREADS
        ran = nodepipe_(
            environment(runtime, on, OMP_NUM_THREADS=f"{3 + on}"),
            "run",
            "baseline",
            "--force",
            cwd=chain.root / "nodes",
            umask=0o027,
        )
        assert ran.returncode == 0, ran.stderr
        assert served(runtime) == before + on
        answers[on] = (seen.read_text(), seen.stat().st_mode & 0o777)
    assert answers == {True: ("4", 0o640), False: ("3", 0o640)}

    outside = nodepipe_(environment(runtime), "status", "baseline", cwd=tmp_path)
    assert outside.returncode == 6, outside.stderr  # no workspace here: the client's folder
    by_env = nodepipe_(
        environment(runtime, NODEPIPE_WORKSPACE=str(chain.root)), "status", "baseline", cwd=tmp_path
    )
    assert by_env.returncode == 0, by_env.stderr
    assert "load" in by_env.stdout


def test_sigterm_to_a_served_run_ends_it_as_in_its_own_process(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    quick_chain(chain)
    write_main(chain, "load", SLEEP)
    warm(chain, runtime)
    ended = []
    for on in (False, True):
        before = served(runtime)
        client = run_until_load_starts(chain, environment(runtime, on), "--force")
        assert served(runtime) == before + on
        client.send_signal(signal.SIGTERM)
        out, err = client.communicate(timeout=120)
        ended.append((client.returncode, "resume with" in out))
    assert ended[1] == ended[0], err  # served or not: the same ending


@pytest.mark.parametrize("kernel", ["6.9 or later", "before 6.9"])
def test_a_signal_after_the_worker_ended_never_reaches_a_process_that_took_its_pid(
    chain: nodepipe.Workspace, tmp_path: Path, kernel: str
) -> None:
    """The client stopped while its run goes on; the run completes, the server reaps the
    worker, an impostor takes its pid and so its group id (for real: ``support.pid_reuse``);
    then SIGINT, SIGTERM and SIGCONT to the client: it ends as its worker did, and the
    impostor lives on. Before Linux 6.9 (``support.old_kernel``) the worker's group is
    signalled by its id, only while the pidfd says the worker is unreaped."""
    gate = tmp_path / "gate"
    gated_chain(chain, gate)
    started = chain.nodes.path("load") / "reports" / "started"
    # a folder of its own: its servers' pids are the namespace's, meaningless to the fixture
    runtime = Path(tempfile.mkdtemp(prefix="np-pidfd-", dir="/tmp"))
    try:
        env = environment(runtime)
        program = [NODEPIPE] if kernel == "6.9 or later" else [*OLD_KERNEL, "6.9", NODEPIPE]
        found = in_pid_namespace(program, chain.root, runtime, started, gate, env)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    assert found["impostor_ended"] is None, "the client's signal killed the pid's new owner"
    assert found["client"] == 0, found["stderr"]  # as its worker ended: the run completed


def test_ctrl_c_cancels_a_served_run_as_in_its_own_process(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    quick_chain(chain)
    write_main(chain, "load", SLEEP)
    warm(chain, runtime)
    before = served(runtime)
    client = run_until_load_starts(chain, environment(runtime), cwd=chain.root)
    assert served(runtime) == before + 1
    client.send_signal(signal.SIGINT)  # what Ctrl-C sends
    out, err = client.communicate(timeout=120)
    assert client.returncode == 130, err  # cancelled: the exit-code table's
    assert "resume with `nodepipe run baseline load clean plot`" in out
    (load_run, *_) = chain.runs.node_history("load", "baseline")
    assert load_run.state is NodeRunState.CANCELLED


def test_a_client_killed_takes_its_worker_with_it_and_the_next_run_recovers(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    quick_chain(chain)
    write_main(chain, "load", SLEEP)
    warm(chain, runtime)
    client = run_until_load_starts(chain, environment(runtime))
    worker = last_worker(runtime)
    client.kill()
    assert client.wait(60) == -signal.SIGKILL
    wait_for(lambda: not Path(f"/proc/{worker}").exists(), "the worker to die", 30)

    write_main(chain, "load", QUICK)
    again = nodepipe_(environment(runtime), "-w", str(chain.root), "run", "baseline")
    assert again.returncode == 0, again.stderr
    assert "3 completed" in again.stdout
    assert "killed: its client went" in log_of(runtime)


def test_a_worker_killed_at_a_crash_point_kills_its_client_the_same_way(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    quick_chain(chain)
    warm(chain, runtime)
    before = served(runtime)
    env = environment(runtime, NODEPIPE_CRASH_AT="run.claimed")
    crashed = nodepipe_(env, "-w", str(chain.root), "run", "baseline")
    assert served(runtime) == before + 1
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    recovered = nodepipe_(environment(runtime), "-w", str(chain.root), "run", "baseline")
    assert recovered.returncode == 0, recovered.stderr


def test_a_server_whose_nodepipe_code_changed_serves_nothing(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    # A copy of nodepipe first on the path (its own key, its own server), edited while the
    # server runs: the installation the other tests' servers use is left alone.
    shutil.copytree(Path(nodepipe.__file__).parent, tmp_path / "copy" / "nodepipe")
    env = environment(runtime, PYTHONPATH=str(tmp_path / "copy"))
    first = nodepipe_(env, "-w", str(chain.root), "status", "baseline")
    assert first.returncode == 0, first.stderr
    wait_for(lambda: "serving" in log_of(runtime), "the fork server to start", 60)
    (old,) = server_pids(runtime / "nodepipe")
    before = served(runtime)
    assert nodepipe_(env, "-w", str(chain.root), "status", "baseline").returncode == 0
    assert served(runtime) == before + 1

    edited = tmp_path / "copy" / "nodepipe" / "cli" / "runs.py"
    edited.write_text(edited.read_text().replace('"""', '"""Edited. ', 1))
    status = nodepipe_(env, "-w", str(chain.root), "status", "baseline")
    assert status.returncode == 0, status.stderr
    assert served(runtime) == before + 1, "the old server ran it"
    wait_for(lambda: not Path(f"/proc/{old}").exists(), "the old server to end", 30)
    wait_for(lambda: server_pids(runtime / "nodepipe") != [old], "a new server", 60)
    wait_for(lambda: "serving" in log_of(runtime), "the new server to serve", 60)
    again = nodepipe_(env, "-w", str(chain.root), "status", "baseline")
    assert again.returncode == 0, again.stderr
    assert served(runtime) == 1, "the new server (a new log) serves"


CONNECT = """
import array, socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as refused:
    print("refused", type(refused).__name__); raise SystemExit
s.settimeout(20)
payload = b"x" * 8
fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))]
try:
    s.sendmsg([len(payload).to_bytes(8, "big") + payload], fds)
    print("answer", s.recv(100) or "none")
except (BrokenPipeError, ConnectionResetError):
    print("answer", "none")
"""


def test_another_user_is_never_served(
    chain: nodepipe.Workspace, runtime: Path, other: OtherUser
) -> None:
    warm(chain, runtime)
    (socket_path,) = (runtime / "nodepipe").glob("fork-*.sock")
    blocked = other.run("/usr/bin/python3", "-c", CONNECT, str(socket_path))
    assert blocked.stdout.split() == ["refused", "PermissionError"], blocked.stderr

    before = served(runtime)
    for opened in (runtime, runtime / "nodepipe"):  # as if the folder had been opened to others
        opened.chmod(0o711)
    socket_path.chmod(0o777)
    try:
        tried = other.run("/usr/bin/python3", "-c", CONNECT, str(socket_path))
    finally:
        for closed in (runtime, runtime / "nodepipe"):
            closed.chmod(0o700)
    assert tried.stdout.split() == ["answer", "none"], tried.stderr  # closed, nothing run
    assert served(runtime) == before
    mine = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    assert mine.returncode == 0 and served(runtime) == before + 1, mine.stderr


@pytest.mark.parametrize("hostile", ["link", "open", "other user's"])
def test_a_socket_folder_not_the_users_own_is_never_used(
    hostile: str, chain: nodepipe.Workspace, runtime: Path, tmp_path: Path, other: OtherUser
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder = runtime / "nodepipe"
    if hostile == "link":
        folder.symlink_to(elsewhere)
    else:
        folder.mkdir(mode=0o700)
        if hostile == "open":
            folder.chmod(0o755)
        else:
            os.chown(folder, other.uid, other.gid)
    for _ in range(2):
        status = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
        assert status.returncode == 0, status.stderr
        assert "load" in status.stdout
    assert list(elsewhere.iterdir()) == []
    if hostile != "link":
        assert list(folder.iterdir()) == []


def test_the_client_imports_almost_nothing_before_it_is_served(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    warm(chain, runtime)
    cpu = tmp_path / "cpu"
    program = (
        "import sys; sys.argv = ['nodepipe', '-w', sys.argv[1], 'status', 'baseline'];"
        "from nodepipe.cli.fork_client import console; console()"
    )
    baseline = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True
    )
    client = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", program, str(chain.root)],
        env=environment(runtime, True, **{CPU_FILE_ENV: str(cpu)}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert client.returncode == 0, client.stderr
    assert "load" in client.stdout

    def imported(importtime: str) -> set[str]:
        return set(re.findall(r"^import time:.*\| +(\S+)$", importtime, re.MULTILINE))

    extra = imported(client.stderr) - imported(baseline.stderr)
    client_modules = {"nodepipe", "nodepipe.cli", "nodepipe.cli.fork_client", "_socket", "zlib"}
    assert extra <= {"__future__", *client_modules}
    user, system = map(float, cpu.read_text().split())  # the worker's CPU, for benchmarks
    assert user + system > 0


def fork_servers_of(runtime: Path) -> list[int]:
    """The live fork-server processes whose socket folder is in ``runtime``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            environment = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        mine = f"XDG_RUNTIME_DIR={runtime}".encode() in environment
        if b"fork_server import serve" in command and mine and state != "Z":
            found.append(int(entry.name))
    return found


def test_commands_started_together_start_one_server_which_ends_when_idle(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    env = environment(runtime, NODEPIPE_FORK_SERVER_IDLE="3")
    argv = [NODEPIPE, "-w", str(chain.root), "status", "baseline"]
    together = [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    assert [command.wait(120) for command in together] == [0] * 4
    wait_for(lambda: "serving" in log_of(runtime), "a server to start", 60)
    # the others found the lock taken (each tries for two seconds: one may be ending) and went
    wait_for(lambda: len(fork_servers_of(runtime)) == 1, "one server", 30)
    assert len(server_pids(runtime / "nodepipe")) == 1
    (socket_path,) = (runtime / "nodepipe").glob("fork-*.sock")
    wait_for(lambda: not fork_servers_of(runtime), "the idle server to end", 60)
    assert not socket_path.exists()
    assert "ended" in log_of(runtime)


def test_a_malformed_request_is_closed_and_the_server_serves_on(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    server = warm(chain, runtime)
    (socket_path,) = (runtime / "nodepipe").glob("fork-*.sock")
    hostile = [
        b"",  # nothing
        (10**12).to_bytes(8, "big"),  # a length far over the bound
        (5).to_bytes(8, "big") + b"\0\0\0\0\0",  # no descriptors, empty fields
    ]
    for request in hostile:
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(socket_path))
            client.settimeout(20)
            client.sendall(request)
            client.shutdown(socket.SHUT_WR)
            with contextlib.suppress(ConnectionResetError):  # closed with what was sent unread
                assert client.recv(100) == b""  # closed, nothing said
    assert fork_servers_of(runtime) == [server]
    before = served(runtime)
    status = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    assert status.returncode == 0 and served(runtime) == before + 1, status.stderr


@pytest.mark.parametrize("sent", ["no descriptor", "two pidfds", "a pipe", "another's pidfd"])
def test_a_worker_pid_without_its_own_pidfd_is_refused_and_the_command_runs_alone(
    chain: nodepipe.Workspace, runtime: Path, sent: str
) -> None:
    """A server answering a worker's pid (``P``) with no pidfd, two, another kind of file, or
    the pidfd of another process: the client closes the connection without its go-ahead and
    runs the command in its own process."""
    server = warm(chain, runtime)
    (socket_path,) = (runtime / "nodepipe").glob("fork-*.sock")
    os.kill(server, signal.SIGTERM)
    wait_for(lambda: not fork_servers_of(runtime), "the server to end", 30)
    other = subprocess.Popen(["sleep", "60"])
    read, write = os.pipe()
    pidfd = os.pidfd_open(other.pid)
    carried = {
        "no descriptor": [],
        "two pidfds": [pidfd, pidfd],
        "a pipe": [read],
        "another's pidfd": [pidfd],
    }[sent]
    heard: list[bytes] = []
    with socket.socket(socket.AF_UNIX) as impostor:
        impostor.bind(str(socket_path))
        impostor.listen(1)
        client = subprocess.Popen(
            [NODEPIPE, "-w", str(chain.root), "status", "baseline"],
            env=environment(runtime),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        connection, _ = impostor.accept()
        with connection:
            connection.settimeout(60)
            size = int.from_bytes(connection.recv(8, socket.MSG_WAITALL), "big")
            connection.recv(size, socket.MSG_WAITALL)
            answer = b"P" + os.getpid().to_bytes(8, "big")  # the pid is not the pidfd's
            rights = array.array("i", carried).tobytes()
            with_rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)] if carried else []
            connection.sendmsg([answer], with_rights)
            while chunk := connection.recv(100):
                heard.append(chunk)
    out, err = client.communicate(timeout=120)
    for fd in (read, write, pidfd):
        os.close(fd)
    other.kill()
    other.wait()
    assert heard == [], "the client went ahead"
    assert client.returncode == 0, err
    assert "load" in out  # run in its own process
    assert served(runtime) == 0


def on_a_terminal(env: dict[str, str], argv: list[str], tostop: bool = False) -> bytes:
    """What ``argv`` writes on a terminal (a pseudo-terminal: its three streams)."""
    main, secondary = pty.openpty()
    attributes = termios.tcgetattr(secondary)
    attributes[3] = attributes[3] | termios.TOSTOP if tostop else attributes[3] & ~termios.TOSTOP
    termios.tcsetattr(secondary, termios.TCSANOW, attributes)
    command = subprocess.Popen(
        argv, env=env, stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True
    )
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert command.wait(120) == 0, output
    return output


def test_on_a_terminal_a_served_command_draws_as_it_would_alone(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    warm(chain, runtime)
    argv = [NODEPIPE, "-w", str(chain.root), "status", "baseline"]
    env = environment(runtime, TERM="xterm-256color")
    before = served(runtime)
    drawn = on_a_terminal(env, argv)
    assert served(runtime) == before + 1
    assert drawn == on_a_terminal(environment(runtime, on=False, TERM="xterm-256color"), argv)
    assert b"\x1b[" in drawn  # drawn for a terminal: the worker sees its client's terminal
    stopping = on_a_terminal(env, argv, tostop=True)  # a terminal that stops background writers
    assert served(runtime) == before + 1, "served on a terminal with TOSTOP"
    assert stopping == drawn


def test_ctrl_z_stops_the_worker_with_its_client_and_fg_goes_on(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    go_on = tmp_path / "go-on"
    gated_chain(chain, go_on)
    warm(chain, runtime)
    # a group of its own whose parent is in the same session: a job
    client = run_until_load_starts(chain, environment(runtime), process_group=0)
    worker = last_worker(runtime)

    stopped_then_continued(client, worker, go_on)


def test_before_linux_6_9_ctrl_z_and_ctrl_c_still_reach_the_worker(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    """Its group signalled by id (the pidfd's group flag refused, as before 6.9): Ctrl-Z
    stops the worker and fg continues it to the run's end; Ctrl-C cancels the next run."""
    go_on = tmp_path / "go-on"
    gated_chain(chain, go_on)
    old = [*OLD_KERNEL, "6.9", NODEPIPE, "-w", str(chain.root)]
    first = subprocess.run(
        [*old, "status", "baseline"], env=environment(runtime), capture_output=True, check=False
    )
    assert first.returncode == 0, first.stderr
    wait_for(lambda: "serving" in log_of(runtime), "the fork server to start", 60)
    started = chain.nodes.path("load") / "reports" / "started"

    def run_until_load_starts() -> tuple[subprocess.Popen[str], int]:
        started.unlink(missing_ok=True)
        before = served(runtime)
        client = subprocess.Popen(
            [*old, "run", "baseline", "--force"],
            env=environment(runtime),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            process_group=0,  # a job
        )
        wait_for(started.exists, "load to start")
        assert served(runtime) == before + 1
        return client, last_worker(runtime)

    client, worker = run_until_load_starts()
    assert "Seccomp_filters:\t1" in Path(f"/proc/{worker}/status").read_text()
    stopped_then_continued(client, worker, go_on)

    go_on.unlink()
    client, worker = run_until_load_starts()
    client.send_signal(signal.SIGINT)  # what Ctrl-C sends
    out, err = client.communicate(timeout=120)
    assert client.returncode == 130, err
    assert "resume with `nodepipe -w" in out
    (load_run, *_) = chain.runs.node_history("load", "baseline")
    assert load_run.state is NodeRunState.CANCELLED


@pytest.mark.parametrize("system", ["5.3", "sandbox"])
def test_without_pidfds_no_server_starts_and_commands_run_alone(
    chain: nodepipe.Workspace, runtime: Path, system: str
) -> None:
    """A kernel before 5.3 (``pidfd_open``: ENOSYS), or a sandbox that lets a pidfd be opened
    but refuses signals through it (EPERM): a worker could only be signalled by a bare pid, so
    no client starts a server, and a server started by hand serves nothing."""
    old = [*OLD_KERNEL, system, NODEPIPE, "-w", str(chain.root)]
    env = environment(runtime)
    alone = nodepipe_(environment(runtime, on=False), "-w", str(chain.root), "status", "baseline")
    for _ in range(2):
        status = subprocess.run(
            [*old, "status", "baseline"], env=env, capture_output=True, text=True, check=False
        )
        assert (status.returncode, status.stdout) == (0, alone.stdout), status.stderr
    code = "from nodepipe.cli.fork_server import serve; serve()"
    idle = {**env, IDLE_ENV: "1"}  # one that served would end after a second idle
    by_hand = subprocess.run(
        [*OLD_KERNEL, system, sys.executable, "-c", code], env=idle, timeout=60, check=False
    )
    assert by_hand.returncode == 0
    assert not fork_servers_of(runtime)
    assert not list((runtime / "nodepipe").glob("fork-*")), "a server started"


def test_a_server_killed_leaves_its_commands_running_to_their_end_and_a_new_one_starts(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    """A dead server kills nobody: the served run goes on, completes, and its client ends with
    the run's own exit status (told by the worker itself); the next command starts a server."""
    gate = tmp_path / "gate"
    gated_chain(chain, gate)
    server = warm(chain, runtime)
    client = run_until_load_starts(chain, environment(runtime))
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{server}").exists(), "the server to die", 30)
    gate.write_text("open")
    out, err = client.communicate(timeout=120)
    assert client.returncode == 0, err
    assert "3 completed, 0 failed" in out
    assert served(runtime) == 1

    first = nodepipe_(environment(runtime), "-w", str(chain.root), "run", "baseline")
    assert first.returncode == 0, first.stderr  # its own process: the socket answers no more
    wait_for(lambda: server_pids(runtime / "nodepipe") != [server], "a new server", 60)
    wait_for(lambda: log_of(runtime).count("serving") == 1, "the new server to serve", 60)
    again = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    assert again.returncode == 0 and served(runtime) == 1, again.stderr


def test_a_served_command_ends_when_its_worker_is_done_not_when_the_server_reaps_it(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    """The worker tells its client how the command ended as its very last step: the client
    ends then, with the run's status, even while the server is busy (here: stopped) and
    cannot reap the worker. The server, continued, kills nobody for the client's going."""
    gate = tmp_path / "gate"
    gated_chain(chain, gate)
    server = warm(chain, runtime)
    client = run_until_load_starts(chain, environment(runtime))
    os.kill(server, signal.SIGSTOP)
    try:
        gate.write_text("open")
        out, err = client.communicate(timeout=120)
    finally:
        os.kill(server, signal.SIGCONT)
    assert client.returncode == 0, err
    assert "3 completed, 0 failed" in out
    assert served(runtime) == 1
    again = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    assert again.returncode == 0 and served(runtime) == 2, again.stderr
    assert "killed" not in log_of(runtime)


def sees(seen: Path) -> str:
    """A node that writes what its process sees to ``seen``."""
    return (
        f"import os, pathlib, resource\nSEEN = {str(seen)!r}\n"
        "print_ = [os.readlink('/proc/self/ns/net'), str(os.nice(0)),\n"
        "    str(resource.getrlimit(resource.RLIMIT_NOFILE)),\n"
        "    str(sorted(os.sched_getaffinity(0)))]\n"
        "status = pathlib.Path('/proc/self/status').read_text().splitlines()\n"
        "print_ += [line for line in status if line.startswith(('CapEff', 'NoNewPrivs'))]\n"
        "pathlib.Path(SEEN).write_text('\\n'.join(print_))\n"
    )


SANDBOXES = {
    "unshare -n": ["unshare", "-n"],
    "setpriv": ["setpriv", "--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all"],
    "ulimit -n": ["prlimit", "--nofile=512:512"],
    "nice": ["nice", "-n", "7"],
    "taskset": ["taskset", "-c", "0"],
}


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_caller_in_a_sandbox_or_with_other_limits_is_never_served_by_a_server_outside(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path, sandbox: str
) -> None:
    """The node of a run started under ``unshare``/``setpriv``/a limit sees the caller's
    namespaces, capabilities, limits, nice and affinity, served or not, every time."""
    quick_chain(chain)
    seen = tmp_path / "seen"
    write_main(chain, "load", sees(seen))
    warm(chain, runtime)
    host_net = str(Path("/proc/self/ns/net").readlink())
    args = [*SANDBOXES[sandbox], NODEPIPE, "-w", str(chain.root), "run", "baseline", "--force"]
    outside = served(runtime)
    sights = {}
    for on in (False, True, True):  # alone; served (its own server starts); again
        ran = subprocess.run(args, env=environment(runtime, on), capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr
        sight = seen.read_text()  # a private namespace is a new one each time
        sights.setdefault(on, []).append(
            sight.replace(sight.split()[0], "net:own", sight.split()[0] != host_net)
        )
    host = nodepipe_(environment(runtime), "-w", str(chain.root), "run", "baseline", "--force")
    assert host.returncode == 0 and served(runtime) > outside, host.stderr
    assert sights[True] == [sights[False][0]] * 2
    assert seen.read_text() != sights[False][0]  # the sandbox did change what the node sees


def test_a_client_claiming_the_servers_identity_is_refused_by_what_the_kernel_says(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    """A client whose key matches the server's (it lies about its attributes) is still refused:
    the server reads the peer's /proc, and the command runs in its own (nice 7) process."""
    quick_chain(chain)
    seen = tmp_path / "seen"
    write_main(chain, "load", sees(seen))
    warm(chain, runtime)
    server = server_pids(runtime / "nodepipe")[0]
    lying = (
        "import sys; import nodepipe.cli.fork_client as c; real = c.identity; of = sys.argv[1];"
        "c.identity = lambda pid: real(of.encode() if pid == b'self' else pid);"
        "sys.argv = ['nodepipe', '-w', sys.argv[2], 'run', 'baseline', '--force'];"
        "c.console()"
    )
    before = served(runtime)
    ran = subprocess.run(
        ["nice", "-n", "7", sys.executable, "-c", lying, str(server), str(chain.root)],
        env=environment(runtime),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert served(runtime) == before
    assert seen.read_text().splitlines()[1] == "7"


def gated(ws: nodepipe.Workspace, gate: Path, count: Path) -> None:
    """``load`` appends a line to ``count`` (how many times it ran), then waits for ``gate``."""
    write_main(
        ws,
        "load",
        "import os, pathlib, time\n"
        f"with open({str(count)!r}, 'a') as out:\n    out.write('ran\\n')\n"
        "(pathlib.Path(os.environ['NODEPIPE_REPORTS_DIR']) / 'started').write_text('y')\n"
        f"while not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.05)\n",
    )


def test_a_stopped_server_never_holds_a_command_and_nothing_runs_twice(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path
) -> None:
    """With the server stopped (SIGSTOP) a run gets no answer, runs in its own process after
    the handshake's wait, and completes; continued, the server forks a worker for that
    connection, which runs nothing (the client never said "go"), and serves the next one."""
    quick_chain(chain)
    gate, count = tmp_path / "gate", tmp_path / "count"
    gate.write_text("open")
    gated(chain, gate, count)
    server = warm(chain, runtime)
    os.kill(server, signal.SIGSTOP)
    try:
        alone = nodepipe_(environment(runtime), "-w", str(chain.root), "run", "baseline")
    finally:
        os.kill(server, signal.SIGCONT)
    assert alone.returncode == 0, alone.stderr
    assert "3 completed, 0 failed" in alone.stdout
    again = nodepipe_(environment(runtime), "-w", str(chain.root), "run", "baseline", "--force")
    assert again.returncode == 0, again.stderr
    assert served(runtime) == 1  # the stopped one was not; this one was
    assert count.read_text().splitlines() == ["ran", "ran"]  # once each


def test_a_trickling_connection_does_not_delay_another_command(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    """A connection that sends its request a byte at a time (or nothing) holds only its own
    worker: the server serves the next command at once."""
    quick_chain(chain)
    warm(chain, runtime)
    (socket_path,) = (runtime / "nodepipe").glob("fork-*.sock")
    with socket.socket(socket.AF_UNIX) as slow:
        slow.connect(str(socket_path))
        slow.sendall((1000).to_bytes(8, "big") + b"x")
        before = served(runtime)
        status = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
        assert status.returncode == 0, status.stderr
        assert served(runtime) == before + 1


@pytest.mark.parametrize("spare", [0, 1], ids=["accept fails", "pipe fails"])
def test_a_command_the_server_cannot_take_runs_alone_and_the_server_kills_nobody(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path, spare: int
) -> None:
    """Out of descriptors (its RLIMIT_NOFILE lowered under it): the new command runs in its
    own process, the served run under way goes on to its end, and the server serves on."""
    quick_chain(chain)
    gate, count = tmp_path / "gate", tmp_path / "count"
    gated(chain, gate, count)
    server = warm(chain, runtime)
    running = run_until_load_starts(chain, environment(runtime))
    limits = Path(f"/proc/{server}/limits").read_text()
    soft, hard = re.findall(r"Max open files +(\d+) +(\d+)", limits)[0]
    opened = len(list(Path(f"/proc/{server}/fd").iterdir()))
    subprocess.run(["prlimit", f"--pid={server}", f"--nofile={opened + spare}:{hard}"], check=True)
    try:
        alone = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    finally:
        subprocess.run(["prlimit", f"--pid={server}", f"--nofile={soft}:{hard}"], check=True)
    assert alone.returncode == 0, alone.stderr
    assert "could not" in log_of(runtime) and "Too many open files" in log_of(runtime)
    assert served(runtime) == 1  # the run under way only
    gate.write_text("open")
    out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    assert "3 completed, 0 failed" in out
    status = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    assert status.returncode == 0 and served(runtime) == 2, status.stderr
    assert server_pids(runtime / "nodepipe") == [server]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script's `nodepipe run &` inherits it


def test_a_served_run_that_inherited_sigint_ignored_cancels_on_sigint_as_alone(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    quick_chain(chain)
    write_main(chain, "load", SLEEP)
    warm(chain, runtime)
    for on in (False, True):
        before = served(runtime)
        client = run_until_load_starts(  # the state a shell gives a `&` job
            chain, environment(runtime, on), "--force", preexec_fn=_ignore_sigint
        )
        assert served(runtime) == before + on
        client.send_signal(signal.SIGINT)
        _, err = client.communicate(timeout=120)
        assert client.returncode == 130, err  # cancelled, served or not


@pytest.mark.parametrize("off", ["false", "OFF", "No", " 0 "])
def test_the_usual_spellings_of_off_turn_the_server_off(
    chain: nodepipe.Workspace, runtime: Path, off: str
) -> None:
    warm(chain, runtime)
    before = served(runtime)
    status = nodepipe_(
        environment(runtime, **{SWITCH_ENV: off}), "-w", str(chain.root), "status", "baseline"
    )
    assert status.returncode == 0 and served(runtime) == before, status.stderr


def test_a_closed_stream_or_a_tracer_means_the_command_runs_in_its_own_process(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    """A closed stdout is not replaced by the socket (the null device, as alone); under
    ``strace -f`` the command runs (and is traced) in its own process and starts no server."""
    warm(chain, runtime)
    before = served(runtime)
    closed = {
        on: subprocess.run(
            [
                "sh",
                "-c",
                'exec "$0" "$@" >&-',
                NODEPIPE,
                "-w",
                str(chain.root),
                "status",
                "baseline",
            ],
            env=environment(runtime, on),
            capture_output=True,
            text=True,
            timeout=120,
        )
        for on in (True, False)
    }
    assert closed[True].returncode == closed[False].returncode == 0
    assert closed[True].stderr == closed[False].stderr == ""
    assert served(runtime) == before
    status_args = ["-w", str(chain.root), "status", "baseline"]
    traced = subprocess.run(
        ["strace", "-f", "-e", "trace=execve", "-o", "/dev/null", NODEPIPE, *status_args],
        env=environment(runtime, PYTHONSTARTSERVER="1"),  # a key of no server yet
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert traced.returncode == 0, traced.stderr
    assert served(runtime) == before
    assert len(server_pids(runtime / "nodepipe")) == 1  # none started for the traced key


@pytest.mark.parametrize("change", ["a dependency edited", "a package installed"])
def test_a_server_whose_dependencies_changed_serves_nothing(
    chain: nodepipe.Workspace, runtime: Path, tmp_path: Path, change: str
) -> None:
    """A copy of click first on the path (its own key, its own server): editing a loaded
    file of it, or installing a package beside it, ends that server before it serves again."""
    import click

    copy = tmp_path / "copy"
    shutil.copytree(Path(click.__file__).parent, copy / "click")
    env = environment(runtime, PYTHONPATH=str(copy))
    first = nodepipe_(env, "-w", str(chain.root), "status", "baseline")
    assert first.returncode == 0, first.stderr
    wait_for(lambda: "serving" in log_of(runtime), "the fork server to start", 60)
    assert nodepipe_(env, "-w", str(chain.root), "status", "baseline").returncode == 0
    before = served(runtime)
    assert before == 1
    if change == "a dependency edited":
        edited = copy / "click" / "__init__.py"
        edited.write_text(edited.read_text() + "\nimport sys\nsys.stderr.write('NEW-CLICK\\n')\n")
    else:
        (copy / "extra-1.0.dist-info").mkdir()
    status = nodepipe_(env, "-w", str(chain.root), "status", "baseline")
    assert status.returncode == 0, status.stderr
    assert served(runtime) == before, "the old server ran it"
    assert ("NEW-CLICK" in status.stderr) == (change == "a dependency edited")


def test_a_fifth_server_of_the_user_stops_the_least_recently_used(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    """One server per key (each PYTHON*/LC_* setting, sandbox...): at most four of them."""
    started = []
    for number in range(5):
        env = environment(runtime, PYTHONFORKCAP=str(number))  # a key of its own
        ran = nodepipe_(env, "-w", str(chain.root), "status", "baseline")
        assert ran.returncode == 0, ran.stderr
        wait_for(
            lambda: len(set(server_pids(runtime / "nodepipe")) - set(started)) == 1, "a server"
        )
        (new,) = set(server_pids(runtime / "nodepipe")) - set(started)
        serving = number + 1
        wait_for(lambda n=serving: log_of(runtime).count("serving") == n, "it to serve", 60)
        started.append(new)
    wait_for(lambda: not Path(f"/proc/{started[0]}").exists(), "the first server to end", 30)
    assert all(Path(f"/proc/{pid}").exists() for pid in started[1:])
    again = nodepipe_(
        environment(runtime, PYTHONFORKCAP="4"), "-w", str(chain.root), "status", "baseline"
    )
    assert again.returncode == 0 and served(runtime) == 1, again.stderr


def test_a_server_whose_socket_folder_was_removed_ends_within_seconds(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    """A cleaner of /tmp, or an ``rm -r`` of the socket folder, leaves a server that no command
    can reach: it ends within seconds, not after its ten idle minutes."""
    quick_chain(chain)
    server = warm(chain, runtime)
    shutil.rmtree(runtime / "nodepipe")
    wait_for(lambda: not Path(f"/proc/{server}").exists(), "the unreachable server to end", 30)
    again = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
    assert again.returncode == 0, again.stderr  # the next command runs, and starts a new one


def test_a_server_starting_removes_the_files_of_keys_unused_for_a_week(
    chain: nodepipe.Workspace, runtime: Path
) -> None:
    """Each installation (a virtual environment, an upgrade), locale or sandbox has a key of
    its own; the .lock and .log of keys no longer used stayed in the socket folder for ever
    (138 files on a machine that ran the tests)."""
    folder = runtime / "nodepipe"
    folder.mkdir(mode=0o700)
    week_and_a_day = 8 * 24 * 3600
    old, recent = folder / "fork-00000000000000aa", folder / "fork-00000000000000bb"
    for base in (old, recent):
        for suffix in (".lock", ".log", ".sock"):
            Path(f"{base}{suffix}").write_text("0\n")  # no pid of a server
    for suffix in (".lock", ".log", ".sock"):
        stamp = Path(f"{old}{suffix}").stat().st_mtime - week_and_a_day
        os.utime(f"{old}{suffix}", (stamp, stamp))
    held = folder / "fork-00000000000000cc.lock"  # a server of another key runs: kept
    held.write_text(f"{os.getpid()}\n")
    Path(folder / "fork-00000000000000cc.log").write_text("")
    os.utime(folder / "fork-00000000000000cc.log", (1, 1))
    with held.open() as holding:
        fcntl.flock(holding, fcntl.LOCK_EX)
        first = nodepipe_(environment(runtime), "-w", str(chain.root), "status", "baseline")
        assert first.returncode == 0, first.stderr
        wait_for(
            lambda: not any(p.name.startswith(old.name) for p in folder.iterdir()),
            "the files of the key unused for a week to be removed",
            30,
        )
        wait_for(lambda: "serving" in log_of(runtime), "the fork server to start", 60)
        left = {p.name for p in folder.iterdir()}
    assert {f"{recent.name}.lock", f"{recent.name}.log", f"{recent.name}.sock"} <= left
    assert {"fork-00000000000000cc.lock", "fork-00000000000000cc.log"} <= left
