"""The ``nodepipe`` program ends as soon as its command is done (``cli.app.end_now``): without
the interpreter's teardown, and with nothing of the command lost: its output, its exit status,
its exit handlers; a thread still at work gets the interpreter's usual ending, an output that
cannot be written (its reader went away) ends silently with READER_GONE."""

from __future__ import annotations

import json
import subprocess
import sys

import nodepipe
from nodepipe.cli.errors import READER_GONE
from nodepipe.services.runs.service import RunRequest

# The program as the console script runs it, telling when the interpreter is torn down (its
# teardown frees the values of ``__main__``): ``end_now`` skips exactly that.
PROGRAM = """
import os, sys
class Teardown:
    def __del__(self):
        os.write(1, b"torn down\\n")
teardown = Teardown()
sys.argv = ["nodepipe", *sys.argv[1:]]
from nodepipe.cli.app import console
console()
"""


def program(*args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    code = PROGRAM.replace("from nodepipe.cli.app", before + "\nfrom nodepipe.cli.app")
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_a_run_ends_with_all_its_output_and_records(
    chain: nodepipe.Workspace,
) -> None:
    ended = program("-w", str(chain.root), "run", "baseline", "--json")
    assert ended.returncode == 0, ended.stderr
    events = [json.loads(line) for line in ended.stdout.splitlines() if line != "torn down"]
    assert events[-1]["type"] == "run_finished" and events[-1]["completed"] == 3
    with chain.context.store.light_read() as session:
        (run,) = session.list_runs(None, 10)
    assert run.status.value == "completed", "the store holds the run's end"
    assert chain.runs.plan(RunRequest("baseline")).plan.ids == ()  # nothing left to run


def test_a_failed_command_ends_without_teardown_with_its_status_and_message(
    chain: nodepipe.Workspace,
) -> None:
    ended = program("-w", str(chain.root), "status", "no-such-pipeline")
    assert ended.returncode == 3, ended.stderr  # not found: the exit-code table's
    assert "no-such-pipeline" in ended.stderr
    assert "torn down" not in ended.stdout


def test_a_large_answer_reaches_a_pipe_whole_after_the_exit_handlers() -> None:
    ended = program(
        "--help",
        before="import atexit; atexit.register(print, 'exit handler ran')\n"
        "for i in range(20000): print(f'line {i}')",
    )
    lines = ended.stdout.splitlines()
    assert ended.returncode == 0
    assert lines[:2] == ["line 0", "line 1"] and "line 19999" in lines
    assert lines[-1] == "exit handler ran"


def test_a_thread_still_at_work_gets_the_usual_ending() -> None:
    """A non-daemon thread is waited for, as the interpreter always did."""
    ended = program(
        "--help",
        before="import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.5), print('thread done', flush=True)))"
        ".start()",
    )
    assert ended.returncode == 0
    assert ended.stdout.splitlines()[-2:] == ["thread done", "torn down"]


def test_a_closed_pipe_ends_silently_with_reader_gone() -> None:
    """An answer that cannot be written (its reader went away first): the exit-code table's
    READER_GONE, and nothing said about it (tests/integration/test_reader_gone.py: commands)."""
    with subprocess.Popen(
        [sys.executable, "-c", "from nodepipe.cli.app import console; console()", "--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        error = process.stderr.read()
        assert process.wait(60) == READER_GONE.code
    assert error == ""
