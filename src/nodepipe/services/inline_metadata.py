"""PEP 723 inline script metadata in a node's entry file is honoured.

The ``# /// script`` dependencies (and requires-python) are merged into the node's pyproject,
locked and synced before the node runs or when its environment is synced; changing them makes
the node stale like any lock change.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.envs.script_metadata import script_requirements
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.node_config import read_node_config
from nodepipe.workspace.node_project import (
    merge_script_dependencies,
    script_dependencies,
    set_requires_python,
)


def honour_inline_metadata(context: WorkspaceContext, code_dir: Path) -> bool:
    """Bring the node's environment in line with its entry file's inline metadata.

    Returns True when the environment had to change.
    """
    pyproject = code_dir / "pyproject.toml"
    config = read_node_config(pyproject)
    if config.command is not None or config.shared_env is not None:
        return False
    entry = code_dir / config.entry
    seen = (_stat_key(entry), _stat_key(pyproject))
    if seen in _IN_LINE:
        return False
    wanted, requires = script_requirements(entry)
    if wanted == script_dependencies(pyproject) and requires is None:
        _remember_in_line(seen)
        return False
    environments = context.environments

    def edit() -> None:
        merge_script_dependencies(pyproject, wanted)
        if requires is not None:
            set_requires_python(pyproject, requires)
        environments.lock(code_dir)

    before = pyproject.read_text(encoding="utf-8")
    environments.change(code_dir, edit)
    return pyproject.read_text(encoding="utf-8") != before


_StatKey = tuple[str, int, int, int] | None
_IN_LINE: set[tuple[_StatKey, _StatKey]] = set()
"""(entry file, pyproject) states already found in line: a run of a big pipeline re-reads
only the nodes whose files changed."""


def _stat_key(path: Path) -> _StatKey:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _remember_in_line(seen: tuple[_StatKey, _StatKey]) -> None:
    if len(_IN_LINE) > 4096:
        _IN_LINE.clear()
    _IN_LINE.add(seen)
