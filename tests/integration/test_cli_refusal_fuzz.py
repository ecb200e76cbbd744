"""Hostile command lines through every ``nodepipe`` command: never a traceback, and a refusal
leaves the workspace as it was.

The command tree is walked from ``nodepipe.cli.app`` (as the README's reference test walks
it); for each command hypothesis draws arguments and options from its own parameters: the
names that exist in the ``chain`` workspace (load → clean → plot in pipeline ``baseline``),
hostile strings (``support.refusal_fuzz``: ``..``, ``/``, NUL-free control characters,
5,000 characters, unicode, a lone surrogate as a command line that is not UTF-8 carries it),
numbers out of any range, and paths inside and outside the workspace, special files among
them. Each command line runs in this process, as ``nodepipe -w LAB …``, and is checked:

- nothing but ``SystemExit`` leaves the program (an exception would be a traceback for the
  user), its status is one README's exit code table names, and its standard error holds no
  traceback;
- a refusal (status 1 to 7, or 9) changed nothing: every row of the store and every file of the
  workspace (path, size, modification time; environments and caches left out) are as before;
- one command line ends within ``COMMAND_SECONDS``.

A command that succeeds may change the workspace (that is its job): the next example starts
from what it left. What would leave the sandbox is pinned: uv is offline against tiny wheels,
Jupyter kernels go under the test's folder, the executor is the local one, and ``serve`` and
``demo`` (a server that runs until stopped; a download from PyPI) are not fuzzed.

More examples on demand::

    NODEPIPE_CLI_REFUSAL_EXAMPLES=100 HYPOTHESIS_PROFILE=long \\
        .venv/bin/python -m pytest tests/integration/test_cli_refusal_fuzz.py
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from types import FrameType

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nodepipe
from nodepipe.cli.app import main
from nodepipe.cli.errors import EXIT_CODES
from support.cli_tree import leaf_commands
from support.refusal_fuzz import (
    HUGE_NUMBERS,
    differences,
    fuzz_settings,
    hostile_paths,
    hostile_text,
    snapshot,
)
from support.wheels import toy_index
from support.worlds import CHAIN, build_pipeline

EXAMPLES = int(os.environ.get("NODEPIPE_CLI_REFUSAL_EXAMPLES", "6"))
COMMAND_SECONDS = 120
NOT_FUZZED = {("serve",), ("demo",)}
"""A server that runs until it is stopped; a download of numpy from PyPI."""
PINNED_OPTIONS = {"follow", "executor", "ray_address", "shared_fs", "storage"}
"""Left out: ``logs --follow`` waits for ever by design; the Ray executor and object stores
(``--storage``) would reach outside the sandbox."""
REFUSALS = {1, 2, 3, 4, 5, 6, 7, 9}
"""Statuses that say nodepipe refused or could not do it: the workspace must be unchanged."""
KNOWN_STATUSES = {code.code for code in EXIT_CODES}
SEEDED = {
    "node": ["load", "clean", "plot"],
    "pipeline": ["baseline"],
    "project": ["climate", "default"],
}
NODE_WORDS = {"node", "nodes", "parent", "child", "old", "new", "from_node", "to", "from_"}
PIPELINE_WORDS = {"pipeline", "names", "into"}


COMMANDS = {words: c for words, c in leaf_commands().items() if words not in NOT_FUZZED}


def seeded_names(param: click.Parameter, words: tuple[str, ...]) -> list[str]:
    """The names that exist in the workspace for what ``param`` names."""
    name = param.name or ""
    if name in NODE_WORDS:
        return SEEDED["node"]
    if name in PIPELINE_WORDS or (name in ("name", "names") and words[0] == "pipeline"):
        return SEEDED["pipeline"]
    if name in ("project", "name") and words[0] == "project":
        return SEEDED["project"]
    return [*SEEDED["node"], *SEEDED["pipeline"]]


def value_of(param: click.Parameter, words: tuple[str, ...], root: Path) -> st.SearchStrategy[str]:
    """One value for ``param``: a name that exists, a path, a number, or a hostile string."""
    kind = param.type
    hostile = (
        hostile_text().filter(lambda text: "\x00" not in text)  # argv holds no NUL
        | st.just("caf\udce9")  # what a command line that is not UTF-8 gives Python
    )
    numbers = st.sampled_from([str(n) for n in HUGE_NUMBERS]) | st.integers().map(str)
    if isinstance(kind, (click.Path, click.File)):
        return hostile_paths(root) | hostile
    if isinstance(kind, click.Choice):
        return st.sampled_from(list(kind.choices)) | hostile
    if isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
        if isinstance(kind, click.IntRange):  # taken: what the command does with it
            low = kind.min if kind.min is not None else -5
            numbers |= st.integers(low, kind.max if kind.max is not None else low + 1000).map(str)
        return numbers | hostile
    if isinstance(kind, click.DateTime):  # each format it takes, with and without an offset
        moments = st.datetimes(timezones=st.none() | st.just(UTC))
        typed = st.builds(
            lambda when, form: when.strftime(form), moments, st.sampled_from(kind.formats)
        )
        return typed | hostile
    return st.sampled_from(seeded_names(param, words)) | hostile | numbers


def command_line(
    data: st.DataObject, words: tuple[str, ...], command: click.Command, root: Path
) -> list[str]:
    """``nodepipe -w ROOT WORDS…`` with arguments and some of the options of ``command``."""
    argv = ["-w", str(root), *words]
    options: list[str] = []
    arguments: list[str] = []
    for param in command.params:
        if param.name in PINNED_OPTIONS or param.name == "help":
            continue
        if isinstance(param, click.Argument):
            count = data.draw(st.integers(1, 3)) if param.nargs == -1 else param.nargs
            arguments += [data.draw(value_of(param, words, root)) for _ in range(count)]
        elif isinstance(param, click.Option) and data.draw(st.booleans()):
            spellings = [*param.opts, *param.secondary_opts]
            spelled = data.draw(st.sampled_from(spellings))
            if param.is_flag or param.count:
                options.append(spelled)
            else:
                options += [spelled, data.draw(value_of(param, words, root))]
    return [*argv, *options, "--", *arguments] if arguments else [*argv, *options]


class OverranError(Exception):
    """A command line ran longer than ``COMMAND_SECONDS``."""


def _overran(signum: int, frame: FrameType | None) -> None:
    raise OverranError


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``nodepipe ARGV`` here: its exit status and standard error."""
    capsys.readouterr()
    previous = signal.signal(signal.SIGALRM, _overran)
    signal.alarm(COMMAND_SECONDS)
    try:
        main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    else:  # pragma: no cover - main always exits
        code = 0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain workspace, built once (real uv environments); each command gets a copy."""
    root = tmp_path_factory.mktemp("cli-fuzz-template") / "lab"
    ws = nodepipe.init(root)
    build_pipeline(ws, "baseline", CHAIN, project="climate")
    ws.close()
    return root


@pytest.fixture
def lab(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the template; uv offline against tiny wheels; kernels and the current
    folder under the test; an empty standard input (``server password --from-stdin``)."""
    monkeypatch.setenv("UV_FIND_LINKS", str(toy_index(tmp_path / "wheels")))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("NODEPIPE_FORK_SERVER", "0")
    monkeypatch.delenv("NODEPIPE_WORKSPACE", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "file.txt").write_text("not a workspace's\n")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    nodepipe.open(root).close()  # the copy's first open records where it now is
    yield root


@pytest.mark.parametrize("words", list(COMMANDS), ids=[" ".join(w) for w in COMMANDS])
def test_hostile_command_lines_are_refused_cleanly(
    lab: Path, capsys: pytest.CaptureFixture[str], words: tuple[str, ...]
) -> None:
    command = COMMANDS[words]

    @fuzz_settings(EXAMPLES)
    @given(st.data())
    def hostile(data: st.DataObject) -> None:
        argv = command_line(data, words, command, lab)
        shown = " ".join(repr(a) if " " in a or not a else a for a in argv)[:600]
        before = snapshot(lab)
        started = time.monotonic()
        try:
            code, stderr = run_cli(argv, capsys)
        except OverranError:
            pytest.fail(f"nodepipe {shown}: still running after {COMMAND_SECONDS} s")
        except Exception as failure:
            pytest.fail(f"nodepipe {shown}: a traceback: {failure!r}")
        took = time.monotonic() - started
        assert code in KNOWN_STATUSES, (shown, code, stderr[-2000:])
        assert "Traceback" not in stderr, (shown, stderr[-2000:])
        assert took < COMMAND_SECONDS, shown
        if code in REFUSALS:
            changed = differences(before, snapshot(lab))
            assert not changed, (shown, code, stderr[-800:], changed[:10])

    hostile()
