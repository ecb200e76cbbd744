"""A killed environment edit is undone by the next command, which must not lose what the user
wrote into those files meanwhile (a power cut, then the editor first): the next command puts
back the files as they were before the edit and keeps what it found in them beside the node's
``code/`` (not in it: the node is as it was)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from faults.test_kill_anywhere import next_command, start, uv_offline
from nodepipe.envs.edits import UNDONE_EDITS
from support.wheels import toy_index


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    root = tmp_path / "lab"
    ws = nodepipe.init(root)
    ws.pipelines.new("base")
    ws.nodes.new("base", "b")
    ws.close()
    return root


def test_a_hand_edit_after_a_killed_env_edit_is_kept_when_the_edit_is_undone(
    lab: Path, tmp_path: Path
) -> None:
    offline = uv_offline(toy_index(tmp_path / "wheels"))
    code = nodepipe.open(lab).nodes.path("b") / "code"
    before = (code / "pyproject.toml").read_bytes()
    edit = start(
        lab,
        ("env", "add", "b", "toypkg==1.0", "--pipeline", "base"),
        {**offline, "NODEPIPE_CRASH_AT": "edit.edited"},
    )
    assert edit.wait(120) != 0  # killed where its uv had rewritten the project
    edited = (code / "pyproject.toml").read_text()
    assert "toypkg" in edited
    mine = edited + "# the user's own line, written after the kill\n"
    (code / "pyproject.toml").write_text(mine)

    next_command(lab, offline)

    assert (code / "pyproject.toml").read_bytes() == before  # the edit undone, all of it
    undone = code.parent / UNDONE_EDITS
    found = [p for p in undone.iterdir() if p.name.startswith("code-pyproject.toml.")]
    assert [p.read_text() for p in found] == [mine]  # and what the user wrote, kept
    assert not [p for p in code.iterdir() if "pyproject.toml." in p.name]  # not in code/
    kept = sorted(p.name for p in undone.iterdir())
    next_command(lab, offline)  # nothing left to undo: nothing kept twice
    assert sorted(p.name for p in undone.iterdir()) == kept
    statuses = nodepipe.open(lab).runs.status("base").nodes.values()
    reasons = [reason for status in statuses for reason in status.own_reasons]
    assert not [reason for reason in reasons if "pyproject.toml." in reason]  # not code
