"""PEP 723 inline script metadata in a node's entry file is honoured.

The ``# /// script`` dependencies (and requires-python) are merged into the node's pyproject,
locked and synced before the node runs or when its environment is synced; changing them makes
the node stale like any lock change.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nodepipe.domain.errors import UnresolvableRequirementsError
from nodepipe.envs.script_metadata import script_requirements
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.file_state import FileState, file_state, file_state_or_none, latest_per_key
from nodepipe.workspace.kept_facts import facts_for, now_ns, settled
from nodepipe.workspace.node_config import NodeConfig, read_node_config, script_dependencies

if TYPE_CHECKING:
    from packaging.requirements import Requirement

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


def check_inline_pins(code_dir: Path, requirements: list[str]) -> None:
    """Refuse (UnresolvableRequirementsError, naming both) a requirement to add that no version
    satisfies together with one of the entry file's inline metadata: the next run would merge
    both and fail to lock. Only what a pin (``==``) makes certain is refused; other pairs of
    ranges are left to uv."""
    config = read_node_config(code_dir / "pyproject.toml")
    if not has_own_python_entry(config):
        return
    inline = script_requirements(code_dir / config.entry)[0]
    for added in requirements:
        for declared in inline:
            if _disjoint(added, declared):
                raise UnresolvableRequirementsError(
                    f"{added} conflicts with {declared}, which {config.entry} asks for in its "
                    "inline script metadata (its `# /// script` block): no version satisfies "
                    f"both, so the node would fail to lock at its next run; change the "
                    f"requirement in {config.entry}, or ask for a version it allows; nothing "
                    "was changed"
                )


def _disjoint(first: str, second: str) -> bool:
    """Whether the requirements ``first`` and ``second`` name one package and a pin of either
    is outside what the other allows (markers aside: both would be merged as they are)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        one, other = Requirement(first), Requirement(second)
    except InvalidRequirement:
        return False
    if canonicalize_name(one.name) != canonicalize_name(other.name) or one.marker != other.marker:
        return False
    return _pin_outside(one, other) or _pin_outside(other, one)


def _pin_outside(pinned: Requirement, other: Requirement) -> bool:
    if other.url is not None or pinned.url is not None:
        return False
    return any(
        spec.operator in ("==", "===")
        and not spec.version.endswith(".*")
        and not other.specifier.contains(spec.version, prereleases=True)
        for spec in pinned.specifier
    )


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
