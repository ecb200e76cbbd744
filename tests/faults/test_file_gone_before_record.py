"""A file of a node's ``code/`` removed between the launch's walk and its record (by an editor
or a tool, while nodepipe compiles the node's modules): the node runs with what is there.

The compile step is wrapped to remove the file at that moment: the only way to hit that window
every time (failure injection; the run, uv and the node's process are real)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import nodepipe
import nodepipe.execution.task as task_module
from nodepipe.domain.states import NodeState
from nodepipe.services.runs.service import RunRequest


def test_a_file_removed_while_the_launch_compiles_does_not_fail_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = nodepipe.init(tmp_path / "lab")
    try:
        ws.pipelines.new("p")
        ws.nodes.new("p", "a")
        code = ws.nodes.path("a") / "code"
        scratch = code / "scratch.py"
        real: Callable[..., object] = task_module.compile_checked

        def compiling(*args: object, **kwargs: object) -> object:
            scratch.unlink(missing_ok=True)  # the editor removes its temporary meanwhile
            return real(*args, **kwargs)

        monkeypatch.setattr(task_module, "compile_checked", compiling)
        scratch.write_text("X = 1\n")  # appeared after the last status, before the launch
        result = ws.runs.run(RunRequest("p", force=True))
        assert not scratch.exists()
        assert ws.nodes.get("a", "p").state is NodeState.COMPLETED, result
    finally:
        ws.close()
