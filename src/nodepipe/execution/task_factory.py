"""Turning a node into a ``NodeTask``: its command line, context file content and settings."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Mapping
from importlib import util as import_util
from pathlib import Path
from typing import Any, Final

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.model import Node
from nodepipe.envs.interpreters import check_trusted
from nodepipe.execution.task import NodeTask
from nodepipe.execution.warm_start import warm_start_wanted
from nodepipe.workspace.bundle_libs import import_dirs
from nodepipe.workspace.external_code import import_paths
from nodepipe.workspace.node_config import NodeConfig
from nodepipe.workspace.node_folder import NodeFolder

RUNTIME_DIR = Path(__file__).parent.parent / "runtime"
"""The package ``nodepipe.runtime`` (found by path: importlib.resources costs a run ~30
modules, zipfile's among them)."""
NOTEBOOK_RUNNER = RUNTIME_DIR / "nodepipe_notebook.py"
SITE_HOOK = "sitecustomize.py"
"""Run by each node's Python as it starts (the runtime folder is first on its PYTHONPATH):
its imports write no bytecode into folders other users own."""


@functools.cache
def compiled_runtime_dir() -> str:
    """The helper's folder, its bytecode compiled for this interpreter (once per process).

    Node processes run with PYTHONDONTWRITEBYTECODE on many machines, so without a compiled
    file beside the helper every launch would compile it again. An installation nodepipe
    cannot write into (another user's) keeps working, compiling per launch.
    """
    for source in (RUNTIME_DIR / "nodepipe_node.py", NOTEBOOK_RUNNER, RUNTIME_DIR / SITE_HOOK):
        compiled = Path(import_util.cache_from_source(str(source)))
        with contextlib.suppress(OSError):
            if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
                _compile(source, compiled)
    return str(RUNTIME_DIR)


def node_import_path(folder: NodeFolder) -> tuple[str, ...]:
    """The folders a run puts on the node's PYTHONPATH, in order: the helper's
    (``nodepipe_node``), the node's code paths, and the bundle code it links."""
    return (compiled_runtime_dir(), *import_paths(folder.code), *import_dirs(folder))


def _compile(source: Path, compiled: Path) -> None:
    import py_compile  # only when the helper's bytecode is missing or older: not on every run

    with contextlib.suppress(py_compile.PyCompileError):
        py_compile.compile(str(source), cfile=str(compiled), doraise=True)


class ParentInput:
    """A parent's outputs as an input of a node: its slot, id, tag and data folder.

    Plain classes here: nothing compares or prints them, and a dataclass costs a run's start
    about 0.6 ms to make (its generated methods are compiled when the module is imported)."""

    __slots__ = ("data_dir", "node_id", "slot", "tag")

    def __init__(self, slot: str, node_id: str, tag: str, data_dir: Path) -> None:
        self.slot: Final = slot
        self.node_id: Final = node_id
        self.tag: Final = tag
        self.data_dir: Final = data_dir


class EnvironmentSettings:
    """Where the node task finds uv's cache, which interpreter builds environments, and where
    it records what it runs with."""

    __slots__ = (
        "conda_cache_dir",
        "journal_dir",
        "lock_cache_dir",
        "objects_dir",
        "python",
        "shared_envs_dir",
        "uv_cache_dir",
    )

    def __init__(
        self,
        uv_cache_dir: Path,
        python: str,
        lock_cache_dir: Path,
        shared_envs_dir: Path,
        journal_dir: Path,
        objects_dir: Path,
        conda_cache_dir: Path,
    ) -> None:
        self.uv_cache_dir: Final = uv_cache_dir
        self.python: Final = python
        self.lock_cache_dir: Final = lock_cache_dir
        self.shared_envs_dir: Final = shared_envs_dir
        self.journal_dir: Final = journal_dir
        self.objects_dir: Final = objects_dir
        self.conda_cache_dir: Final = conda_cache_dir


def command_line(folder: NodeFolder, config: NodeConfig) -> tuple[str, ...]:
    """The argv that runs the node: its own interpreter on the entry, or the given command."""
    if config.command is not None:
        return config.command
    entry = folder.code / config.entry
    if not entry.is_file():
        raise InvalidInputError(
            f"the entry point {config.entry} is missing from {folder.code}; create it or set "
            "entry/command under [tool.nodepipe] in pyproject.toml"
        )
    python = check_trusted(config.interpreter) if config.interpreter else str(folder.python)
    if config.is_notebook:
        return (python, str(NOTEBOOK_RUNNER), config.entry)
    return (python, config.entry)


def build_task(
    *,
    run_id: str,
    node_run_id: str,
    node: Node,
    folder: NodeFolder,
    config: NodeConfig,
    params: Mapping[str, Any],
    parents: list[ParentInput],
    settings: EnvironmentSettings,
    fingerprint: str,
    environment_checked: bool = False,
) -> NodeTask:
    context = {
        "node": {"id": node.id, "tag": node.tag},
        "params": dict(params),
        "parents": [
            {"slot": p.slot, "id": p.node_id, "tag": p.tag, "data_dir": str(p.data_dir)}
            for p in sorted(parents, key=lambda p: p.slot)
        ],
    }
    runtime_dir, *imported = node_import_path(folder)
    return NodeTask(
        run_id=run_id,
        node_run_id=node_run_id,
        node_id=node.id,
        tag=node.tag,
        node_dir=str(folder.path),
        argv=command_line(folder, config),
        context=context,
        runtime_dir=runtime_dir,
        uv_cache_dir=str(settings.uv_cache_dir),
        python=settings.python,
        lock_cache_dir=str(settings.lock_cache_dir),
        journal_dir=str(settings.journal_dir),
        pass_env=config.pass_env,
        fingerprint=fingerprint,
        timeout=config.timeout,
        shared_env_dir=(
            str(settings.shared_envs_dir / config.shared_env) if config.shared_env else None
        ),
        interpreter=config.interpreter,
        import_dirs=tuple(imported),
        objects_dir=str(settings.objects_dir),
        conda_cache_dir=str(settings.conda_cache_dir),
        environment_checked=environment_checked,
        warm_start=warm_start_wanted(os.environ),
    )
