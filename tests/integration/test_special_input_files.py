"""A file the user names as a command's input that is a named pipe, a device or a folder is
refused at once, named for what it is, with exit 2, and nothing is changed.

Before: `env import NODE requirements.txt` (or environment.yml), `node params NODE --file`,
`package pull --fs-args` and `package publish` opened a named pipe with no writer and waited
for ever; `/dev/zero` was read up to a size cap (or for ever) and then called too large.
Each command runs as its own process here, with a time limit: a hang fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import nodepipe
from support.cli_process import nodepipe_process
from support.worlds import build_pipeline


def named_pipe(path: Path) -> str:
    os.mkfifo(path)
    return "named pipe"


def endless_device(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return "device"


def folder(path: Path) -> str:
    path.mkdir()
    return "folder|directory"  # click's word, where it checks the option itself


KINDS: dict[str, Callable[[Path], str]] = {
    "named-pipe": named_pipe,
    "dev-zero": endless_device,
    "folder": folder,
}

COMMANDS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "env-import-requirements": ("requirements.txt", lambda p: ["env", "import", "a", str(p)]),
    "env-import-environment": ("environment.yml", lambda p: ["env", "import", "a", str(p)]),
    "node-params-file": ("params.yaml", lambda p: ["node", "params", "a", "--file", str(p)]),
    "package-pull-fs-args": (
        "options.yaml",
        lambda p: ["package", "pull", "https://example.invalid/x.whl", "--fs-args", str(p)],
    ),
    "package-publish": (
        "x-0.1.0-py3-none-any.whl",
        lambda p: ["package", "publish", str(p), "--repository-url", "http://127.0.0.1:9/"],
    ),
}


@pytest.fixture(scope="module")
def single_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A workspace with pipeline ``single`` of node ``a``, and a's code/ inside it."""
    root = tmp_path_factory.mktemp("special-inputs") / "lab"
    ws = nodepipe.init(root)
    build_pipeline(ws, "single", {"a": []})
    code = (ws.nodes.path("a") / "code").relative_to(root)
    ws.close()
    return root, code


def _files(code: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(code.iterdir()) if p.is_file()}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_input_file_that_is_not_one_is_refused_at_once(
    single_template: tuple[Path, Path], tmp_path: Path, command: str, kind: str
) -> None:
    template, code = single_template
    root = tmp_path / "lab"
    shutil.copytree(template, root, symlinks=True)
    name, argv = COMMANDS[command]
    path = tmp_path / "inputs" / name
    path.parent.mkdir()
    what = KINDS[kind](path)
    before = _files(root / code)

    refused = nodepipe_process(root, *argv(path), timeout=60)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = " ".join(refused.stderr.split())
    assert str(path) in said, refused.stderr
    assert any(word in said for word in what.split("|")), refused.stderr
    assert _files(root / code) == before
