"""What a user reads when uv fails (audit 2, F18): real uv, an index that cannot be reached.

uv's ``warning:`` advice about its own options (``--index-url`` … ``--default-index``, caused by
``UV_INDEX_URL``, which a corporate mirror sets) never reaches nodepipe's message; without
``--verbose`` the cause is one short paragraph, with ``--verbose`` uv's full text is printed
once, not after the short paragraph too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from support.waiting import wait_for

DEAD_INDEX = "http://127.0.0.1:9/simple"


def test_uv_advice_stays_out_and_verbose_tells_uv_once(
    lab: nodepipe.Workspace, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_INDEX_URL", DEAD_INDEX)
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    assert cli("pipeline", "new", "p").code == 0
    assert cli("node", "new", "p", "--tag", "a").code == 0

    short = cli("env", "add", "a", "attrs")
    assert short.code == 7, short.stderr
    lines = short.stderr.strip().splitlines()
    assert lines[0].startswith("error: the package index cannot be reached (could not add attrs")
    assert "--index-url" not in short.stderr and "--default-index" not in short.stderr
    assert "warning:" not in short.stderr
    assert len(lines) <= 4, short.stderr  # nodepipe's words and one short paragraph of uv's
    assert "127.0.0.1:9" in short.stderr  # which index, still said

    verbose = cli("--verbose", "env", "add", "a", "attrs")
    assert verbose.code == 7
    told, _, uv_said = verbose.stderr.partition("what uv said:")
    assert "the package index cannot be reached" in told
    assert "127.0.0.1:9" not in told  # uv's explanation is not said twice
    assert "--default-index" in uv_said and "127.0.0.1:9" in uv_said  # all of uv's text, once
    assert not any("attrs" in r for r in lab.envs.show("a").direct)  # nothing was added


@contextlib.contextmanager
def silent_index() -> Iterator[str]:
    """An index URL whose server takes connections and never answers: uv waits on it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"


def _uv_child(pid: int) -> int | None:
    """The pid of the uv process ``pid`` started, if it runs now."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, after = stat.read_text().rpartition(") ")
        except OSError:
            continue
        if name.endswith("(uv") and int(after.split()[1]) == pid:
            return int(stat.parent.name)
    return None


def test_uv_killed_by_a_signal_is_said_and_the_edit_undone(
    lab: nodepipe.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nodepipe env add … &` from a script (SIGINT ignored, as a background command inherits
    it), its uv then killed: the message names the signal and says nothing changed, and the
    node's pyproject.toml and uv.lock are as they were."""
    lab.pipelines.new("p")
    code = lab.context.layout.node_folder(lab.nodes.new("p", "a").id).code
    before = {name: (code / name).read_bytes() for name in ("pyproject.toml", "uv.lock")}
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    monkeypatch.setenv("NODEPIPE_FORK_SERVER", "0")
    with silent_index() as url:
        monkeypatch.setenv("UV_INDEX_URL", url)
        command = ["-w", str(lab.root), "env", "add", "a", "attrs"]
        started = subprocess.Popen(
            [sys.executable, "-c", "from nodepipe.cli.app import main; main()", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        try:
            uv = wait_for(lambda: _uv_child(started.pid), "uv to start", 60)
            os.kill(uv, signal.SIGTERM)
            _, stderr = started.communicate(timeout=60)
        finally:
            if started.poll() is None:
                started.kill()
                started.wait()
    assert started.returncode == 7, stderr
    assert stderr.strip() == (
        "error: uv was killed by SIGTERM before it could add attrs; nothing was changed"
    )
    assert {name: (code / name).read_bytes() for name in before} == before
