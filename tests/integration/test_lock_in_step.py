"""A lock out of step with its pyproject is relocked before the node runs (issue 10, 9).

A requirement added to pyproject.toml without relocking (by hand, or by an edit killed between
uv's two writes) used to leave the lock as it was: the node then ran without the package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nodepipe
from integration.conftest import CliRunner
from nodepipe.workspace.node_project import dependencies, set_dependencies
from support.wheels import toy_index

USES_TOYPKG = """\
import toypkg, nodepipe_node as node
(node.data_dir() / "version.txt").write_text(toypkg.VERSION)
"""


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wheels = toy_index(tmp_path / "wheels")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    return wheels


def test_a_requirement_added_by_hand_is_locked_before_the_run(
    chain: nodepipe.Workspace, offline: Path, cli: CliRunner
) -> None:
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(USES_TOYPKG)
    lock_before = (code / "uv.lock").read_text()
    set_dependencies(code / "pyproject.toml", ["toypkg==1.0"])
    result = cli("run", "baseline", "--only", "load")
    assert result.code == 0, result.stdout + result.stderr
    assert (chain.nodes.path("load") / "data" / "version.txt").read_text() == "1.0"
    assert (
        "toypkg" in (code / "uv.lock").read_text() and lock_before != (code / "uv.lock").read_text()
    )


def test_a_lock_that_cannot_catch_up_fails_that_node_with_the_reason(
    chain: nodepipe.Workspace, offline: Path, cli: CliRunner
) -> None:
    code = chain.nodes.path("load") / "code"
    set_dependencies(code / "pyproject.toml", ["no-such-package==9"])
    result = cli("run", "baseline", "--only", "load")
    assert result.code != 0
    said = cli("logs", "load").stdout
    assert "out of step" in said and "no-such-package" in said
    assert dependencies(code / "pyproject.toml") == ["no-such-package==9"]  # the user's edit kept


def test_an_unchanged_lock_is_not_relocked_after_a_cosmetic_edit(
    chain: nodepipe.Workspace, offline: Path, cli: CliRunner
) -> None:
    """Only what decides the lock counts: nodepipe's own settings or a comment do not."""
    assert cli("run", "baseline", "--only", "load").code == 0
    code = chain.nodes.path("load") / "code"
    marker = code / ".venv" / ".nodepipe-synced"
    synced_at = marker.stat().st_mtime_ns
    pyproject = code / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "# a comment\n")
    assert cli("run", "baseline", "--only", "load", "--force").code == 0
    assert marker.stat().st_mtime_ns == synced_at


def test_a_copy_of_a_node_whose_lock_fell_behind_is_relocked_before_its_run(
    chain: nodepipe.Workspace, offline: Path, cli: CliRunner
) -> None:
    """A copy syncs the source's lock frozen: that never vouches the lock is in step with the
    copy's pyproject (it was not: the copy would fail on every run, and `env sync` too)."""
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(USES_TOYPKG)
    set_dependencies(code / "pyproject.toml", ["toypkg==1.0"])  # by hand: the lock is behind
    copied = cli("node", "duplicate", "load", "--tag", "copy", "--pipeline", "baseline")
    assert copied.code == 0, copied.stderr
    copy = chain.nodes.path("copy") / "code"
    assert "toypkg" not in (copy / "uv.lock").read_text()  # copied as it was, synced frozen
    result = cli("run", "baseline", "--only", "copy")
    assert result.code == 0, result.stdout + result.stderr
    assert (chain.nodes.path("copy") / "data" / "version.txt").read_text() == "1.0"
    assert "toypkg" in (copy / "uv.lock").read_text()


def test_a_restored_lock_behind_its_pyproject_is_relocked_by_env_sync(
    chain: nodepipe.Workspace, offline: Path, cli: CliRunner
) -> None:
    """A lock written back without a check (here by hand, as `env restore` writes a past one)
    is checked at the next sync, not trusted because the pyproject did not change."""
    code = chain.nodes.path("load") / "code"
    (code / "main.py").write_text(USES_TOYPKG)
    old_lock = (code / "uv.lock").read_text()
    assert cli("env", "add", "load", "toypkg==1.0").code == 0
    assert cli("run", "baseline", "--only", "load").code == 0
    (code / "uv.lock").write_text(old_lock)  # the lock of before toypkg, pyproject unchanged
    assert cli("env", "sync", "load").code == 0
    assert "toypkg" in (code / "uv.lock").read_text()
    assert cli("run", "baseline", "--only", "load", "--force").code == 0
