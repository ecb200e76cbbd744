"""A node process forked from a warm interpreter is the process Python would have started:
the same interpreter state, environment, streams, session, exit status and tracebacks
(``execution.warm_start``), at about half the CPU of a launch from nothing."""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import nodepipe
from integration.test_run_processes import GRACEFUL_CHILD
from nodepipe.domain.runs import NodeRunState
from nodepipe.execution import warm_start
from nodepipe.execution.warm_start import WarmInterpreter, WarmStarts
from nodepipe.services.runs.service import RunRequest, RunResult
from support.waiting import wait_for
from support.wheels import local_project
from support.worlds import build_pipeline, node_runs

FACTS = r"""
import sys
MODULES = sorted(sys.modules)
import fcntl, json, os, signal, site, sysconfig
main = sys.modules["__main__"]
def target(fd):
    return os.readlink(f"/proc/self/fd/{fd}")
with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
    parent = f.read().split(b"\0")
facts = {
    "warm": any(part.endswith(b"nodepipe_warm.py") for part in parent),
    "modules": MODULES,
    "argv": sys.argv, "orig_argv": sys.orig_argv, "executable": sys.executable,
    "prefix": sys.prefix, "exec_prefix": sys.exec_prefix, "base_prefix": sys.base_prefix,
    "base_executable": sys._base_executable, "home": sys._home, "path": sys.path,
    "flags": list(sys.flags), "site_prefixes": site.PREFIXES,
    "user_site": site.ENABLE_USER_SITE, "site_packages": site.getsitepackages(),
    "purelib": sysconfig.get_paths()["purelib"],
    "main": sorted(
        (k, type(v).__name__, "" if k == "__loader__" else repr(v))
        for k, v in vars(main).items() if k.startswith("__")
    ),
    "loader_path": main.__loader__.path, "file": __file__, "cwd": os.getcwd(),
    "environ": dict(os.environ), "session_leader": os.getsid(0) == os.getpid(),
    "group_leader": os.getpgid(0) == os.getpid(), "stdin": target(0),
    "stdout": target(1), "stderr": target(2),
    "fds": sorted(os.listdir("/proc/self/fd")),
    "encoding": [sys.stdout.encoding, sys.stderr.encoding, sys.stdin.encoding],
    "buffering": [sys.stdout.line_buffering, sys.stderr.line_buffering],
    "handlers": {
        s.name: str(signal.getsignal(s))
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGHUP, signal.SIGCHLD,
                  signal.SIGXFSZ)
    },
    "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    "customized": os.environ.get("CUSTOMIZED"),
    "dont_write_bytecode": sys.dont_write_bytecode,
    "fd_flags": [fcntl.fcntl(fd, fcntl.F_GETFL) for fd in (0, 1, 2)],
    "offset": os.lseek(1, 0, os.SEEK_CUR) == os.fstat(1).st_size,
    "seekable": [s.seekable() for s in (sys.stdin, sys.stdout, sys.stderr)],
    "raw": [repr(getattr(s.buffer, "raw", s.buffer)) for s in (sys.stdin, sys.stdout, sys.stderr)],
    "write_through": [sys.stdout.write_through, sys.stderr.write_through],
    "importer_cache": sorted(k for k in sys.path_importer_cache if "main" in k or "nodepipe" in k),
    "mode": [sys.stdin.mode, sys.stdout.mode, sys.stderr.mode],
    "dunder_streams": [getattr(sys, n) is getattr(sys, f"__{n}__") for n in ("stdin", "stdout")],
}
out = os.path.join(os.environ["NODEPIPE_DATA_DIR"], "facts.json")
with open(out, "w") as f:
    json.dump(facts, f)
print("said on stdout")
"""

SLOW_SOURCE = "import time\ntime.sleep(0.5)\n"
"""The chain's second node: the second of its kind, whose launch starts the warm interpreter,
which is surely ready when the next node starts."""

PER_RUN = ("NODEPIPE_RUN_ID", "NODEPIPE_DATA_DIR")

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def warm_chain(
    lab: nodepipe.Workspace, offline_uv: Path, monkeypatch: pytest.MonkeyPatch
) -> nodepipe.Workspace:
    """start → first → a → b: ``a`` and ``b`` write what their process sees; ``a`` installs a shared
    checkout (an editable install: a ``.pth`` file) that brings a ``sitecustomize``."""
    monkeypatch.delenv("NODEPIPE_WARM_START", raising=False)
    build_pipeline(lab, "warm", {"start": [], "first": ["start"], "a": ["first"], "b": ["a"]})
    (lab.nodes.path("first") / "code" / "main.py").write_text(SLOW_SOURCE)
    for tag in ("a", "b"):
        (lab.nodes.path(tag) / "code" / "main.py").write_text(FACTS)
    tool = local_project(lab.root.parent / "tool", "warmtool", "0.1", "X = 1\n")
    (tool / "sitecustomize.py").write_text("import os\nos.environ['CUSTOMIZED'] = 'yes'\n")
    lab.envs.add("a", [], shared=str(tool))
    return lab


def facts(ws: nodepipe.Workspace, tag: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((ws.nodes.path(tag) / "data" / "facts.json").read_text())
    return found


def comparable(seen: dict[str, Any]) -> dict[str, Any]:
    """What must be the same whichever way the process started (the run's own ids aside)."""
    kept = {k: v for k, v in seen.items() if k != "warm"}
    assert seen["stdout"] == seen["stderr"]  # the node run's own log
    kept["stdout"] = kept["stderr"] = str(Path(seen["stdout"]).parent)
    kept["environ"] = {k: v for k, v in seen["environ"].items() if k not in PER_RUN}
    return kept


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_warm_process_sees_what_a_process_started_from_nothing_sees(
    warm_chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch, unbuffered: bool
) -> None:
    if unbuffered:
        monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    else:
        monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    warm_chain.runs.run(RunRequest("warm", force=True))
    warm = {tag: facts(warm_chain, tag) for tag in ("a", "b")}
    assert warm["a"]["warm"] and warm["b"]["warm"], "the warm interpreter forked neither node"
    monkeypatch.setenv("NODEPIPE_WARM_START", "0")
    warm_chain.runs.run(RunRequest("warm", force=True))
    cold = {tag: facts(warm_chain, tag) for tag in ("a", "b")}
    assert not cold["a"]["warm"] and not cold["b"]["warm"]
    for tag in ("a", "b"):
        assert comparable(warm[tag]) == comparable(cold[tag]), tag
    tool = str(warm_chain.root.parent / "tool")
    assert warm["a"]["customized"] == "yes" and tool in warm["a"]["path"]
    assert warm["b"]["customized"] is None and tool not in warm["b"]["path"]
    log = (warm_chain.nodes.path("a") / "logs" / "latest.log").read_text()
    assert "said on stdout" in log


PARENT = (
    "import os; open('parent', 'wb').write(open(f'/proc/{os.getppid()}/cmdline', 'rb').read())\n"
)
"""The first line of each ending's script: what its parent process was."""

ENDINGS = {
    "code": ("import sys\nsys.exit(3)\n", 3, None),
    "message": ("import sys\nsys.exit('bad input')\n", 1, "bad input"),
    "raised": (
        "def inner():\n    raise ValueError('no good')\ninner()\n",
        1,
        'Traceback (most recent call last):\n  File "{main}", line 4, in <module>\n'
        '    inner()\n  File "{main}", line 3, in inner\n'
        "    raise ValueError('no good')\nValueError: no good\n",
    ),
    "syntax": ("x = (\n", 1, '  File "{main}", line 2\n    x = (\n        ^\nSyntaxError'),
    "interrupted": ("raise KeyboardInterrupt\n", -signal.SIGINT, "KeyboardInterrupt"),
    "killed": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", -signal.SIGKILL, None),
    "deprecated": (  # past the script's frames: not shown, as not from __main__
        "import warnings\ndef old():\n    warnings.warn('old', DeprecationWarning, stacklevel=3)\n"
        "old()\nprint('done')\n",
        0,
        None,
    ),
    "atexit": (
        "import atexit\natexit.register(print, 'at exit')\n"
        "f = open('late.txt', 'w')\nf.write('kept')\n",
        0,
        "at exit",
    ),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_warm_process_ends_as_python_would_end_it(
    warm_chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    source, code, said = ENDINGS[ending]
    main = warm_chain.nodes.path("a") / "code" / "main.py"
    logs: dict[bool, str] = {}
    for warm in (True, False):
        monkeypatch.setenv("NODEPIPE_WARM_START", "1" if warm else "0")
        main.write_text((PARENT if ending != "syntax" else "\n") + source)
        run = warm_chain.runs.run(RunRequest("warm", force=True))
        assert run.run_id is not None
        node_run = node_runs(warm_chain, run.run_id)["a"]
        if ending != "syntax":
            assert (b"nodepipe_warm.py" in (main.parent / "parent").read_bytes()) is warm
        assert node_run.exit_code == code, (warm, node_run)
        logs[warm] = _node_output((warm_chain.nodes.path("a") / "logs" / "latest.log").read_text())
        if said is not None:
            assert said.format(main=str(main)) in logs[warm], (warm, logs[warm])
    assert logs[True] == logs[False]
    if ending == "deprecated":
        assert logs[True] == "done\n"
    if ending == "atexit":
        assert (main.parent / "late.txt").read_text() == "kept"


def _node_output(log: str) -> str:
    """The log without nodepipe's own lines (which name the run)."""
    return "".join(
        line for line in log.splitlines(keepends=True) if not line.startswith("# nodepipe")
    )


def test_a_run_leaves_no_warm_interpreter_behind(warm_chain: nodepipe.Workspace) -> None:
    warm_chain.runs.run(RunRequest("warm", force=True))
    assert facts(warm_chain, "b")["warm"]
    assert not [pid for pid in warm_interpreters() if _child_of_this_process(pid)]


def _child_of_this_process(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(stat[1]) == os.getpid()


def test_a_warm_node_past_its_timeout_is_ended_with_its_children(
    warm_chain: nodepipe.Workspace,
) -> None:
    """As for a process started from nothing (``test_run_processes``): the node's child gets
    one SIGTERM and finishes its cleanup, the node's run is timed out."""
    folder = warm_chain.nodes.path("a")
    (folder / "code" / "main.py").write_text(PARENT + GRACEFUL_CHILD)
    pyproject = folder / "code" / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('entry = "main.py"', 'entry = "main.py"\ntimeout = 2'))
    run = warm_chain.runs.run(RunRequest("warm", force=True))
    assert run.run_id is not None
    timed_out = node_runs(warm_chain, run.run_id)["a"]
    assert timed_out.state is NodeRunState.FAILED and "timed out" in timed_out.message
    assert b"nodepipe_warm.py" in (folder / "code" / "parent").read_bytes()
    terms = folder / "reports" / "terms"
    wait_for(lambda: "cleanup done" in terms.read_text(), "the child's cleanup", 15)
    assert terms.read_text() == "SIGTERM 1\ncleanup done\n"


WAIT_FOR_GO = (
    PARENT
    + """\
import os, time
open("started", "w").close()
while not os.path.exists("go"):
    time.sleep(0.02)
"""
)


def test_a_node_whose_warm_interpreter_was_killed_fails_saying_why(
    warm_chain: nodepipe.Workspace,
) -> None:
    """Killed under a running node, the warm interpreter can no longer tell how the node's
    process ends: the node fails saying so (it is not taken as completed), nothing waits for
    ever, and the next run forks warm again."""
    code = warm_chain.nodes.path("a") / "code"
    (code / "main.py").write_text(WAIT_FOR_GO)
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(warm_chain.runs.run(RunRequest("warm", force=True)))
    )
    runner.start()
    wait_for((code / "started").exists, "node a to start")
    assert b"nodepipe_warm.py" in (code / "parent").read_bytes()
    (warm,) = [pid for pid in warm_interpreters() if _child_of_this_process(pid)]
    os.kill(warm, signal.SIGKILL)
    (code / "go").touch()
    runner.join(timeout=60)
    assert not runner.is_alive()
    run_id = results[0].run_id
    assert run_id is not None
    ran = node_runs(warm_chain, run_id)
    assert ran["a"].state is NodeRunState.FAILED
    assert "how the node's process ended is unknown" in ran["a"].message
    assert ran["b"].state is not NodeRunState.COMPLETED
    assert not [pid for pid in warm_interpreters() if _child_of_this_process(pid)]
    (code / "go").unlink()
    (code / "main.py").write_text(FACTS)
    warm_chain.runs.run(RunRequest("warm", force=True))
    assert facts(warm_chain, "a")["warm"]


def warm_interpreters() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"nodepipe_warm.py" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_forked_process_has_its_own_group_once_the_run_learns_its_pid(
    warm_chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """A cancel may signal the node's group the moment its pid is known: the forked process is
    in a session (and group) of its own by then, never still in the warm interpreter's."""
    code = warm_chain.nodes.path("b") / "code"
    (code / "main.py").write_text("import time\ntime.sleep(0.05)\n")
    argv = (str(code / ".venv" / "bin" / "python"), "main.py")
    environment = {"PATH": os.environ["PATH"], "NODEPIPE_RUN_ID": "warm-test"}
    log = tmp_path / "node.log"
    starts = WarmStarts(tmp_path / "state")
    try:
        with log.open("ab") as out:
            pid = wait_for(
                lambda: starts.start(argv, code, environment, (log, out.fileno())),
                "the warm interpreter to be ready",
            )
            for _ in range(20):
                assert os.getpgid(pid) == pid and os.getsid(pid) == pid
                assert starts.wait(pid) == 0
                pid = starts.start(argv, code, environment, (log, out.fileno())) or 0
                assert pid
            assert starts.wait(pid) == 0
    finally:
        starts.stop()


def forked_warm(warm: WarmStarts, code: Path, env: dict[str, str], log: tuple[Path, int]) -> int:
    """A node process forked by ``warm`` (once its warm interpreter is ready) for ``code``."""
    argv = [str(code / ".venv" / "bin" / "python"), "main.py"]
    return wait_for(lambda: warm.start(argv, code, env, log), "the warm interpreter")


def test_a_log_replaced_by_a_fifo_before_the_fork_is_refused_at_once(
    warm_chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """The forked child opens the node's log again: what took its name is not opened (a FIFO
    would block it for ever); the node's process ends, refused."""
    warm_chain.runs.run(RunRequest("warm", force=True))  # the nodes' environments
    code = warm_chain.nodes.path("a") / "code"
    warm = WarmStarts(tmp_path / "state")
    log = tmp_path / "node.log"
    try:
        with log.open("ab") as opened:
            log.unlink()
            os.mkfifo(log)
            pid = forked_warm(warm, code, {"PATH": os.defpath}, (log, opened.fileno()))
            pidfd = os.pidfd_open(pid)
            ended = bool(select.select([pidfd], [], [], 20)[0])
            os.close(pidfd)
            if not ended:
                os.kill(pid, signal.SIGKILL)
            assert (ended, warm.wait(pid)) == (True, 127), "the child blocked on the FIFO"
    finally:
        warm.stop()


CUSTOM_AT_EXIT = "import atexit\natexit.register(print, 'customized at exit')\n"
"""A ``sitecustomize`` on the nodes' PYTHONPATH (the user's, passed by ``pass-env``)."""


def test_a_sitecustomize_on_the_nodes_path_runs_once_in_each_node(
    warm_chain: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The warm interpreter would run it as it starts and the forked node again: its
    ``atexit`` handler said twice. A node says it once, warm starts on or off."""
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "sitecustomize.py").write_text(CUSTOM_AT_EXIT)
    monkeypatch.setenv("PYTHONPATH", str(custom))
    for tag in ("start", "first", "a", "b"):
        pyproject = warm_chain.nodes.path(tag) / "code" / "pyproject.toml"
        text = pyproject.read_text()
        pyproject.write_text(
            text.replace('entry = "main.py"', 'entry = "main.py"\npass-env = ["PYTHONPATH"]')
        )
    (warm_chain.nodes.path("b") / "code" / "main.py").write_text("print('main')\n")
    logs = {}
    for warm in ("1", "0"):
        monkeypatch.setenv("NODEPIPE_WARM_START", warm)
        warm_chain.runs.run(RunRequest("warm", force=True))
        logs[warm] = _node_output((warm_chain.nodes.path("b") / "logs" / "latest.log").read_text())
    assert logs["1"] == logs["0"] == "main\ncustomized at exit\n"


def test_a_warm_interpreter_killed_before_saying_the_pid_leaves_no_node_running(
    warm_chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """Killed between its fork and its answer, the warm interpreter leaves a child the run
    does not know of, while the run starts the node from nothing: that child must not run
    the node too (twice at once, into the same outputs)."""
    warm_chain.runs.run(RunRequest("warm", force=True))  # the nodes' environments
    code = warm_chain.nodes.path("a") / "code"
    (code / "main.py").write_text("import os\nopen(os.environ['MARK'], 'w').close()\n")
    mark = tmp_path / "ran"
    env = {"PATH": os.defpath, "MARK": str(mark), "NODEPIPE_CRASH_AT": "warm.forked"}
    warm = WarmStarts(tmp_path / "state")
    argv = [str(code / ".venv" / "bin" / "python"), "main.py"]
    try:
        with (tmp_path / "node.log").open("ab") as opened:
            log = (tmp_path / "node.log", opened.fileno())
            assert warm.start(argv, code, env, log) is None  # its warm interpreter starts
            wait_for(  # each start is refused (from nothing) until one killed it as it forked
                lambda: (
                    warm.start(argv, code, env, log) is None
                    and not [pid for pid in warm_interpreters() if _child_of_this_process(pid)]
                ),
                "the warm interpreter killed as it forked",
            )
        time.sleep(1)
        assert not mark.exists(), "a child of the killed warm interpreter ran the node"
    finally:
        warm.stop()


def test_a_warm_interpreter_given_way_while_a_node_forks_from_it(
    warm_chain: nodepipe.Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At ``MAX_WARM`` kinds, a new kind's warm interpreter takes the place of an idle one; a
    node of the idle kind asking to fork at that moment is forked (the one given way is
    then busy) or starts from nothing, never sent to the stopped interpreter's pipes (whose
    numbers the new one's may have taken)."""
    warm_chain.runs.run(RunRequest("warm", force=True))  # the nodes' environments
    code = warm_chain.nodes.path("a") / "code"
    (code / "main.py").write_text("print('ran')\n")
    monkeypatch.setattr(warm_start, "MAX_WARM", 1)
    warm = WarmStarts(tmp_path / "state")
    argv = [str(code / ".venv" / "bin" / "python"), "main.py"]
    kinds = [{"PATH": os.defpath, "KIND": kind} for kind in ("1", "2")]
    forking, go = threading.Event(), threading.Event()
    fork = WarmInterpreter.fork

    def slow_fork(interpreter: WarmInterpreter, payload: bytes) -> int:
        forking.set()
        go.wait(3)
        return fork(interpreter, payload)

    started: list[int | None] = []
    try:
        with (tmp_path / "node.log").open("ab") as opened:
            log = (tmp_path / "node.log", opened.fileno())
            assert warm.wait(forked_warm(warm, code, kinds[0], log)) == 0  # kind 1 idle
            monkeypatch.setattr(WarmInterpreter, "fork", slow_fork)
            node = threading.Thread(
                target=lambda: started.append(warm.start(argv, code, kinds[0], log))
            )
            node.start()
            forking.wait(10)
            assert warm.start(argv, code, kinds[1], log) is None  # kind 2 from nothing
            go.set()
            node.join(30)
            assert started and started[0] is not None, "the node of kind 1 was not forked"
            assert warm.wait(started[0]) == 0
    finally:
        go.set()
        warm.stop()


SAY_PID_THEN_WAIT_FOR_GO = WAIT_FOR_GO.replace(
    'open("started", "w").close()', 'open("started", "w").write(str(os.getpid()))'
)


def test_a_node_orphaned_by_its_warm_interpreter_and_reaped_elsewhere_fails_saying_why(
    warm_chain: nodepipe.Workspace,
) -> None:
    """On most machines the node's process, orphaned when its warm interpreter is killed, is
    reaped by init (or a subreaper) as soon as it ends, before the run looks at it: the run
    must still see it ended (not fail to find its pid, nor wait on whichever process took
    that pid since). Here this test process is the subreaper, and reaps it at once."""
    code = warm_chain.nodes.path("a") / "code"
    (code / "main.py").write_text(SAY_PID_THEN_WAIT_FOR_GO)
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    results: list[RunResult] = []
    runner = threading.Thread(
        target=lambda: results.append(warm_chain.runs.run(RunRequest("warm", force=True)))
    )
    try:
        runner.start()
        node = int(
            wait_for(lambda: (code / "started").exists() and (code / "started").read_text(), "a")
        )
        assert b"nodepipe_warm.py" in (code / "parent").read_bytes()
        (warm,) = [pid for pid in warm_interpreters() if _child_of_this_process(pid)]
        os.kill(warm, signal.SIGKILL)
        wait_for(lambda: _child_of_this_process(node), "the orphaned node to be ours")
        reaper = threading.Thread(target=os.waitpid, args=(node, 0))
        reaper.start()
        (code / "go").touch()
        reaper.join(timeout=30)
        runner.join(timeout=60)
        assert not runner.is_alive()
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    run_id = results[0].run_id
    assert run_id is not None
    ran = node_runs(warm_chain, run_id)
    assert ran["a"].state is NodeRunState.FAILED
    assert "how the node's process ended is unknown" in ran["a"].message, ran["a"].message


SYSTEM_PYTHONS = sorted(Path("/usr/lib").glob("python3.*/sitecustomize.py"))
"""A distribution's Python whose standard library has a ``sitecustomize`` (Debian's)."""


@pytest.mark.skipif(not SYSTEM_PYTHONS, reason="no Python here has a sitecustomize of its own")
def test_a_node_on_a_python_with_its_own_sitecustomize_forks_warm(tmp_path: Path) -> None:
    """A ``sitecustomize`` installed with Python (Debian's apport hook) is Python's own: such
    nodes still fork warm (only the user's would run twice)."""
    version = SYSTEM_PYTHONS[0].parent.name
    code = tmp_path / "code"
    code.mkdir()
    subprocess.run(
        [f"/usr/bin/{version}", "-m", "venv", "--without-pip", str(code / ".venv")], check=True
    )
    (code / "main.py").write_text("import sys\nprint(sys.modules['sitecustomize'].__file__)\n")
    warm = WarmStarts(tmp_path / "state")
    log = tmp_path / "node.log"
    try:
        with log.open("ab") as opened:
            pid = forked_warm(warm, code, {"PATH": os.defpath}, (log, opened.fileno()))
            assert warm.exited_within(pid, 30)
            assert warm.wait(pid) == 0
        assert log.read_text() == f"{SYSTEM_PYTHONS[0]}\n"
    finally:
        warm.stop()


def test_a_kind_of_one_node_starts_no_warm_interpreter(
    warm_chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """The first node of a kind starts from nothing and no warm interpreter starts for it; the
    second starts one; an entry that is a folder (a zip application's way) never does."""
    code = warm_chain.nodes.path("b") / "code"
    argv = (str(code / ".venv" / "bin" / "python"), "main.py")
    environment = {"PATH": os.environ["PATH"], "NODEPIPE_RUN_ID": "warm-kinds"}
    starts = WarmStarts(tmp_path / "state")

    def children() -> set[int]:  # by parent, not command line: empty while a child execs
        found = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
        return {pid for pid in found if _child_of_this_process(pid)}

    before = children()  # an earlier test of this worker may have left a server running

    def mine() -> set[int]:
        return children() - before

    try:
        with (tmp_path / "node.log").open("ab") as out:
            log = (tmp_path / "node.log", out.fileno())
            (code / "app").mkdir()
            (code / "app" / "__main__.py").write_text("")
            for _ in range(3):
                assert starts.start((argv[0], "app"), code, environment, log) is None
            assert not mine()
            assert starts.start(argv, code, environment, log) is None
            assert not mine(), "a warm interpreter started for one node of its kind"
            assert starts.start(argv, code, environment, log) is None
            assert len(mine()) == 1
    finally:
        starts.stop()
    assert not mine()  # stopped and reaped


def test_a_half_made_warm_environment_of_a_dead_process_is_removed(
    warm_chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    python = os.path.realpath(warm_chain.nodes.path("b") / "code" / ".venv" / "bin" / "python")
    home = str(Path(python).parent)
    made = warm_start._launcher(tmp_path, python, home)
    abandoned = made.with_name(f".{made.name}.{2**22 + 1}.1")  # above any pid Linux gives
    shutil.rmtree(made)
    (abandoned / "bin").mkdir(parents=True)
    assert warm_start._launcher(tmp_path, python, home) == made
    assert not abandoned.exists()
