"""A reader that goes away (``nodepipe run --json | head -1``) ends the output, not the command
(audit4 F7): the run goes on to its end with its outputs recorded and the command exits with
the run's own status; a command cut off while printing exits with ``READER_GONE`` (141, as a
program a closed pipe ends); nothing more is said, on the closed pipe or about it.

Each test runs the ``nodepipe`` program with its output on a real pipe that the test closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nodepipe
from nodepipe.cli.errors import NODE_FAILED, READER_GONE

PROGRAM = [sys.executable, "-c", "from nodepipe.cli.app import console; console()"]
WAIT = "\nimport pathlib, time\nwhile not pathlib.Path({gate!r}).exists():\n    time.sleep(0.05)\n"


def _gated(ws: nodepipe.Workspace, tag: str, gate: Path, then: str = "") -> None:
    """``tag`` waits for the file ``gate`` at its end (the run is still going when the test
    closes the pipe), then runs ``then``."""
    main = ws.nodes.path(tag) / "code" / "main.py"
    main.write_text(main.read_text() + WAIT.format(gate=str(gate)) + then)


def _states(ws: nodepipe.Workspace) -> dict[str, str]:
    """What ``nodepipe status`` says of each node, afterwards."""
    shown = subprocess.run(
        [*PROGRAM, "-w", str(ws.root), "status", "baseline", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    return {n["tag"]: n["state"] for n in json.loads(shown.stdout)["nodes"]}


def test_run_json_whose_reader_goes_away_runs_to_its_end(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    _gated(chain, "load", gate)
    with subprocess.Popen(
        [*PROGRAM, "-w", str(chain.root), "run", "baseline", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = json.loads(process.stdout.readline())  # `| head -1`
        assert first["type"] == "run_started"
        process.stdout.close()  # the reader goes away while load waits
        gate.touch()  # every later event meets the closed pipe
        said = process.stderr.read()
        assert process.wait(300) == 0, said  # the run's own status: it completed
    assert said == ""  # nothing about the pipe, no traceback
    assert _states(chain) == {"load": "completed", "clean": "completed", "plot": "completed"}
    with chain.context.store.light_read() as session:
        (run,) = session.list_runs(None, 10)
    assert run.status.value == "completed"


def test_the_live_display_whose_reader_goes_away_ends_with_the_runs_status(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    """Text output piped (`nodepipe run baseline 2>&1 | head -1`): both streams on one pipe."""
    gate = tmp_path / "gate"
    _gated(chain, "clean", gate)
    plot = chain.nodes.path("plot") / "code" / "main.py"
    plot.write_text(plot.read_text() + "\nraise SystemExit('plot failed on purpose')\n")
    with subprocess.Popen(
        [*PROGRAM, "-w", str(chain.root), "run", "baseline"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        process.stdout.readline()  # the first line of the display
        process.stdout.close()
        gate.touch()
        ended = process.wait(300)
    assert ended == NODE_FAILED.code  # the run's own status: a node failed
    assert _states(chain) == {"load": "completed", "clean": "completed", "plot": "failed"}


def test_status_whose_reader_is_gone_ends_silently_with_reader_gone(
    chain: nodepipe.Workspace,
) -> None:
    with subprocess.Popen(
        [*PROGRAM, "-w", str(chain.root), "status", "baseline", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # gone before the answer is written
        said = process.stderr.read()
        assert process.wait(120) == READER_GONE.code
    assert said == ""


def _with_closed(streams: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``argv`` started with ``streams`` closed (``>&-``), stderr else captured."""
    return subprocess.run(
        ["sh", "-c", f'exec "$@" {streams}', "sh", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_command_started_with_its_output_closed_runs_and_says_nothing(
    chain: nodepipe.Workspace,
) -> None:
    """``nodepipe status >&-`` used to end in a traceback (no stdout to write to). A stream
    closed by the caller is the null device now: the command runs, a run to its end, with its
    own status, and the descriptor is never taken by a file nodepipe opens."""
    status = _with_closed(">&-", [*PROGRAM, "-w", str(chain.root), "status", "baseline"])
    assert (status.returncode, status.stderr) == (0, "")
    run = _with_closed(">&- <&-", [*PROGRAM, "-w", str(chain.root), "run", "baseline"])
    assert (run.returncode, run.stderr) == (0, "")
    assert set(_states(chain).values()) == {"completed"}
    quiet = _with_closed("2>&-", [*PROGRAM, "-w", str(chain.root), "status", "nosuch"])
    assert quiet.returncode == 3  # not found, told by the status alone


def test_commands_printing_through_rich_whose_reader_is_gone_end_with_reader_gone(
    chain: nodepipe.Workspace,
) -> None:
    """`nodepipe env show clean | head -c 1`: rich's own handling of a closed pipe ended the
    command with 1 ("any other error"); the exit-code table says 141, and nothing is said."""
    for command in (["env", "show", "clean"], ["node", "show", "clean"], ["project", "list"]):
        with subprocess.Popen(
            [*PROGRAM, "-w", str(chain.root), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            process.stdout.close()  # the reader is gone before the first line
            said = process.stderr.read()
            assert (process.wait(120), said) == (READER_GONE.code, ""), command
