"""A node never runs old bytecode of a module nodepipe sees changed (issue 14): Python's own
``.pyc`` check trusts a source of the same second and size, so a module edited that way, or
set back to its old time, would run its old code although ``status`` says the node is stale."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from rich.console import Console

import nodepipe
from integration.conftest import CliRunner
from nodepipe import NodeState
from nodepipe.cli.progress import LiveProgress
from nodepipe.domain.events import RunEvent
from nodepipe.execution.bytecode import compile_checked, needing_compile
from nodepipe.services.runs.service import RunRequest
from support.other_user import other_user

READS_HELPERS = """\
import mine, shared, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(mine.WORD + " " + shared.WORD)
"""


def edit_keeping_size_and_time(path: Path, text: str) -> None:
    """Write ``text`` (as long as what was there) and put the file's times back."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_module_edited_to_the_same_size_and_time_runs_its_new_code(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    shared = tmp_path / "scripts"
    shared.mkdir()
    (shared / "shared.py").write_text('WORD = "red"\n')
    code = chain.nodes.path("clean") / "code"
    (code / "mine.py").write_text('WORD = "one"\n')
    (code / "main.py").write_text(READS_HELPERS)
    assert cli("env", "code-path", "add", "clean", str(shared)).code == 0
    python = str(chain.nodes.path("clean") / "code" / ".venv" / "bin" / "python")
    # the user ran the node's code by hand, with Python writing its usual (timestamp) .pyc files
    by_hand = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    by_hand["PYTHONPATH"] = str(shared)
    subprocess.run([python, "-c", "import mine, shared"], cwd=code, env=by_hand, check=True)
    assert list((code / "__pycache__").glob("mine.*.pyc"))

    edit_keeping_size_and_time(code / "mine.py", 'WORD = "two"\n')
    edit_keeping_size_and_time(shared / "shared.py", 'WORD = "tan"\n')
    chain.runs.run(RunRequest("baseline"))
    answer = chain.nodes.path("clean") / "data" / "answer.txt"
    assert answer.read_text() == "two tan"

    # again, now that nodepipe compiled them: the next same-size edit runs too
    edit_keeping_size_and_time(code / "mine.py", 'WORD = "six"\n')
    edit_keeping_size_and_time(shared / "shared.py", 'WORD = "blu"\n')
    clean = chain.runs.status("baseline").nodes[chain.nodes.get("clean").id]
    assert clean.state is NodeState.STALE
    chain.runs.run(RunRequest("baseline"))
    assert answer.read_text() == "six blu"


def test_modules_are_compiled_once_not_at_every_launch(chain: nodepipe.Workspace) -> None:
    code = chain.nodes.path("load") / "code"
    (code / "mine.py").write_text('WORD = "one"\n')
    python = str(code / ".venv" / "bin" / "python")
    pending = needing_compile(python, code)
    assert sorted(p.name for p in pending) == ["main.py", "mine.py"]
    compile_checked(python, pending)
    assert needing_compile(python, code) == []  # nothing changed: nothing to compile
    (code / "mine.py").write_text('WORD = "two"\n')
    assert [p.name for p in needing_compile(python, code)] == ["mine.py"]


_OPENED: list[str] | None = None
"""Files this process opens while a test listens (an audit hook cannot be removed)."""


def _listen(event: str, args: tuple[object, ...]) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], str | Path):
        _OPENED.append(str(args[0]))


sys.addaudithook(_listen)


def test_unchanged_external_code_is_not_read_again_at_the_next_launch(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path
) -> None:
    global _OPENED
    shared = tmp_path / "checkout"
    for package in range(3):
        folder = shared / f"pkg{package}"
        folder.mkdir(parents=True)
        for module in range(70):
            (folder / f"m{module}.py").write_text(f"VALUE = {module}\n")
    assert cli("env", "code-path", "add", "clean", str(shared)).code == 0
    chain.runs.run(RunRequest("baseline"))
    assert len(list(shared.glob("*/__pycache__/*.pyc"))) == 210  # compiled once, by content
    log = chain.nodes.path("clean") / "logs" / "latest.log"
    assert "# nodepipe: compiling 21" in log.read_text()  # a second or more: the log says so

    _OPENED = []
    try:
        chain.runs.run(RunRequest("baseline", only=("clean",), force=True))
        unchanged = [path for path in _OPENED if path.startswith(str(shared)) and ".pyc" in path]
        (shared / "pkg1" / "m3.py").write_text("VALUE = 'edited'\n")
        _OPENED = []
        chain.runs.run(RunRequest("baseline", only=("clean",), force=True))
        edited = [path for path in _OPENED if path.startswith(str(shared))]
    finally:
        _OPENED = None
    assert unchanged == []  # no .pyc of the checkout read or written: its content is unchanged
    assert "# nodepipe: compiling" not in log.read_text()  # the last launch compiled one module
    assert str(shared / "pkg1" / "__pycache__") in " ".join(edited)  # an edit: checked again
    fresh = shared / "pkg1" / "__pycache__" / f"m3.{sys.implementation.cache_tag}.pyc"
    assert fresh.read_bytes()[4:8] == (0b11).to_bytes(4, "little")  # recompiled, checked-hash


def test_a_launch_compiles_the_modules_beside_the_entry_and_never_looks_for_the_entrys(
    chain: nodepipe.Workspace,
) -> None:
    """The entry script runs as ``__main__``, compiled from its source: no ``.pyc`` of it is
    written, or looked for at a launch; the modules it imports get theirs."""
    global _OPENED
    code = chain.nodes.path("load") / "code"
    (code / "mine.py").write_text('WORD = "one"\n')
    (code / "main.py").write_text("import mine\n")
    _OPENED = []
    try:
        chain.runs.run(RunRequest("baseline", only=("load",)))
        opened = [path for path in _OPENED if "__pycache__" in path]
    finally:
        _OPENED = None
    tag = sys.implementation.cache_tag
    assert (code / "__pycache__" / f"mine.{tag}.pyc").read_bytes()[4:8] == (0b11).to_bytes(
        4, "little"
    )
    assert not (code / "__pycache__" / f"main.{tag}.pyc").exists()
    assert str(code / "__pycache__" / f"mine.{tag}.pyc") in opened
    assert not [path for path in opened if Path(path).name.startswith("main.")]


def test_a_folder_of_another_user_gets_no_bytecode_written_into_it(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither nodepipe's compiling nor the node's own imports (Python caching what it
    imported, as root) write ``__pycache__`` into a code path of another user."""
    if os.geteuid() != 0:
        pytest.skip("making a folder of another user needs root")
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # Python writes at import
    theirs = other_user()
    checkout = theirs.folder("np-their-checkout-")
    try:
        (checkout / "tool").mkdir()
        (checkout / "tool" / "__init__.py").write_text("")
        (checkout / "tool" / "io.py").write_text("X = 1\n")
        theirs.give(checkout)  # root can write anywhere: owners are compared, not permissions
        mine = tmp_path / "my-checkout"
        mine.mkdir()
        (mine / "helper.py").write_text("Y = 2\n")
        (mine / "sitecustomize.py").write_text("import os\nos.environ['MINE_RAN'] = 'yes'\n")
        assert cli("env", "code-path", "add", "clean", str(checkout)).code == 0
        assert cli("env", "code-path", "add", "clean", str(mine)).code == 0
        (chain.nodes.path("clean") / "code" / "main.py").write_text(IMPORTS_BOTH)
        chain.runs.run(RunRequest("baseline"))
        clean = chain.nodes.get("clean")
        assert chain.runs.status("baseline").nodes[clean.id].state is NodeState.COMPLETED
        answer = chain.nodes.path("clean") / "data" / "answer.txt"
        assert answer.read_text() == "1 2 yes"  # imported from both; a sitecustomize still runs
        assert not list(checkout.rglob("__pycache__"))
        assert list(mine.glob("__pycache__/helper.*.pyc"))
    finally:
        shutil.rmtree(checkout)


IMPORTS_BOTH = """\
import os, helper, tool.io, nodepipe_node as node
(node.data_dir() / "answer.txt").write_text(f"{tool.io.X} {helper.Y} {os.environ['MINE_RAN']}")
"""


def test_a_long_compile_shows_in_the_runs_live_display(
    chain: nodepipe.Workspace, cli: CliRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first launch compiling hundreds of modules of a code path tells the run's listeners how
    far it got (``node_preparing``); the CLI's live display shows it on the node's row."""
    shared = tmp_path / "checkout"
    for package in range(3):
        folder = shared / f"pkg{package}"
        folder.mkdir(parents=True)
        for module in range(70):
            (folder / f"m{module}.py").write_text(f"VALUE = {module}\n")
    assert cli("env", "code-path", "add", "clean", str(shared)).code == 0
    ran = cli("run", "baseline", "--json")
    assert ran.code == 0, ran.stderr
    events = [json.loads(line) for line in ran.stdout.splitlines()]
    clean = chain.nodes.get("clean").id
    told = [e for e in events if e["type"] == "node_preparing" and e["node_id"] == clean]
    assert told and {e["step"] for e in told} == {"compiling external code"}
    total = told[0]["total"]
    assert total >= 210 and [told[0]["done"], told[-1]["done"]] == [0, total]  # start, end
    kinds = [e["type"] for e in events if e.get("node_id") == clean]
    assert kinds.index("node_preparing") < kinds.index("node_started")  # before it runs
    assert not any(e["type"] == "node_preparing" and e["node_id"] != clean for e in events)

    reading: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)
    progress = LiveProgress(terminal=False)
    started = next(e for e in events if e["type"] == "run_started")
    capsys.readouterr()
    for event in (started, told[0], told[-1]):
        progress(reading.validate_python(event))
    assert f"… clean: compiling external code ({total:,} files)" in capsys.readouterr().out
    screen = Console(record=True, width=120, file=io.StringIO())
    screen.print(progress._render())
    shown = screen.export_text()
    assert f"preparing: clean: compiling external code ({total:,} / {total:,} files)" in shown

    again = cli("run", "baseline", "--force", "--json")  # compiled once: nothing to tell
    assert again.code == 0 and "node_preparing" not in again.stdout
