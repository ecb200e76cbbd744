"""After a failed or Ctrl-C'd run, ``nodepipe run`` prints the command that runs what the run
left undone; pasted into a shell, that command runs exactly those nodes and completes the run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import nodepipe
from nodepipe.domain.runs import NodeRunState
from support.waiting import wait_for

NODEPIPE = str(Path(sys.executable).parent / "nodepipe")
APPEND = """\
import nodepipe_node as node
text = "".join((p.data_dir / "out.txt").read_text() for p in node.parents())
(node.data_dir() / "out.txt").write_text(text + node.tag() + ";")
"""
FAIL = "raise SystemExit(3)\n"
SLEEP = "import os, pathlib, time\n(pathlib.Path(os.environ['NODEPIPE_REPORTS_DIR']) / 'started').write_text('y')\ntime.sleep(600)\n"  # noqa: E501


def write_main(ws: nodepipe.Workspace, tag: str, code: str) -> None:
    (ws.nodes.path(tag) / "code" / "main.py").write_text(code)


def resume_of(output: str) -> str:
    """The command of the ``resume with `...``` line."""
    (line,) = [line for line in output.splitlines() if "resume with `" in line]
    return line.split("resume with `", 1)[1].rstrip("`")


def in_a_shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    path = f"{Path(NODEPIPE).parent}:/usr/bin:/bin"
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env={"PATH": path, "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def runs_of(ws: nodepipe.Workspace, tag: str) -> list[NodeRunState]:
    return [nr.state for nr in ws.runs.node_history(tag, "baseline")]


def test_a_failed_run_prints_the_command_that_runs_what_it_left(
    chain: nodepipe.Workspace, tmp_path: Path
) -> None:
    for tag in ("load", "clean", "plot"):
        write_main(chain, tag, APPEND)
    write_main(chain, "clean", FAIL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    failed = in_a_shell(f"nodepipe -w {chain.root} run baseline --force --jobs 2", cwd=elsewhere)
    assert failed.returncode == 8, failed.stderr
    command = resume_of(failed.stdout)
    assert command == f"nodepipe -w {chain.root} run baseline clean plot --force --jobs 2"
    assert "see why with `nodepipe logs NODE`, fix it, then resume with" in failed.stdout

    write_main(chain, "clean", APPEND)
    resumed = in_a_shell(command, cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resume with" not in resumed.stdout
    assert (chain.nodes.path("plot") / "data" / "out.txt").read_text() == "load;clean;plot;"
    assert runs_of(chain, "load") == [NodeRunState.COMPLETED]  # not run again


def test_a_run_stopped_with_ctrl_c_prints_how_to_resume(chain: nodepipe.Workspace) -> None:
    for tag in ("load", "clean", "plot"):
        write_main(chain, tag, APPEND)
    write_main(chain, "load", SLEEP)
    orchestrator = subprocess.Popen(
        [NODEPIPE, "run", "baseline"],
        cwd=chain.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: (chain.nodes.path("load") / "reports" / "started").exists(), "load to start")
    orchestrator.send_signal(signal.SIGINT)  # what Ctrl-C sends
    out, err = orchestrator.communicate(timeout=120)
    assert orchestrator.returncode == 130, err
    command = resume_of(out)
    assert command == "nodepipe run baseline load clean plot"
    assert "see why" not in out  # nothing failed: nothing to fix

    write_main(chain, "load", APPEND)
    resumed = in_a_shell(command, cwd=chain.root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (chain.nodes.path("plot") / "data" / "out.txt").read_text() == "load;clean;plot;"


def test_json_events_keep_stdout_and_say_how_to_resume_on_stderr(
    chain: nodepipe.Workspace,
) -> None:
    for tag in ("load", "clean", "plot"):
        write_main(chain, tag, APPEND)
    write_main(chain, "plot", FAIL)
    failed = in_a_shell("nodepipe run baseline --json", cwd=chain.root)
    assert failed.returncode == 8
    assert "resume with" not in failed.stdout
    assert resume_of(failed.stderr) == "nodepipe run baseline plot"
