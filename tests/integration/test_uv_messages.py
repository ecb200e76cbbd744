"""What a user reads when uv fails (audit 2, F18): real uv, an index that cannot be reached.

uv's ``warning:`` advice about its own options (``--index-url`` … ``--default-index``, caused by
``UV_INDEX_URL``, which a corporate mirror sets) never reaches nodepipe's message; without
``--verbose`` the cause is one short paragraph, with ``--verbose`` uv's full text is printed
once, not after the short paragraph too.
"""

from __future__ import annotations

import pytest

import nodepipe
from integration.conftest import CliRunner

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
