"""PEP 723 inline script metadata in a node's entry file is honoured.

The ``# /// script`` dependencies (and requires-python) are merged into the node's pyproject,
locked and synced before the node runs or when its environment is synced; changing them makes
the node stale like any lock change.
"""

from __future__ import annotations

from pathlib import Path

from nodepipe.envs.script_metadata import script_requirements
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.file_state import FileState, file_state, file_state_or_none, latest_per_key
from nodepipe.workspace.kept_facts import facts_for, now_ns, settled
from nodepipe.workspace.node_config import NodeConfig, read_node_config, script_dependencies

_IN_LINE_FACT = "in-line"
"""The kind of ``kept_facts`` entry: an entry file's inline metadata is in its pyproject."""


def has_own_python_entry(config: NodeConfig) -> bool:
    """Whether a node with these settings runs a Python entry file in its own environment:
    only then does its inline metadata (PEP 723) say what the environment holds."""
    return config.command is None and config.shared_env is None


def honour_inline_metadata(
    context: WorkspaceContext, code_dir: Path, config: NodeConfig | None = None
) -> bool:
    """Bring the node's environment in line with its entry file's inline metadata.

    ``config`` is the node's settings as its check just read them (read again when not
    given: a run of 10,000 nodes need not parse every pyproject twice). Returns True when
    the environment had to change.
    """
    pyproject = code_dir / "pyproject.toml"
    config = read_node_config(pyproject) if config is None else config
    if not has_own_python_entry(config):
        return False
    entry = code_dir / config.entry
    if _in_line(entry, pyproject, (file_state_or_none(entry), file_state(pyproject))):
        return False
    wanted, requires = script_requirements(entry)
    environments = context.environments

    from nodepipe.workspace.node_project import merge_script_dependencies, set_requires_python

    def edit() -> None:
        merge_script_dependencies(pyproject, wanted)
        if requires is not None:
            set_requires_python(pyproject, requires)
        environments.lock(code_dir)

    before = pyproject.read_text(encoding="utf-8")
    environments.change(code_dir, edit)
    return pyproject.read_text(encoding="utf-8") != before


@latest_per_key(lambda entry, pyproject, seen: (entry, pyproject))
def _in_line(entry: Path, pyproject: Path, seen: tuple[FileState | None, FileState]) -> bool:
    """Whether the entry file's inline metadata (if any) is already in the pyproject.

    Remembered for the files' states ``seen``: a run of a big pipeline re-reads only the nodes
    whose files changed; and across processes (``kept_facts``: an entry in line with its
    pyproject while both stat as they did is not read again by the next run)."""
    facts = facts_for(str(pyproject.parent.parent))
    states = [None if state is None else [*state] for state in seen]
    if facts is not None and facts.get(_IN_LINE_FACT, str(entry), states) is True:
        return True
    began = now_ns()
    wanted, requires = script_requirements(entry)
    in_line = wanted == script_dependencies(pyproject) and requires is None
    stamps = [stamp for state in seen if state is not None for stamp in (state[1], state[4])]
    if in_line and facts is not None and settled(stamps, began):
        facts.put(_IN_LINE_FACT, str(entry), states, True)
    return in_line
