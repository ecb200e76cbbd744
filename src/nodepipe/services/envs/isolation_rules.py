"""How isolated a node is, in one word, and the rule that package edits need its own
environment.

A node has its own environment (``own``), uses a named shared one (``shared:NAME``), or runs
with an existing interpreter (``interpreter:PATH``, not isolated). Its requirements are never
installed into an existing interpreter: ``not_installed`` names those it lacks. Adding or
removing packages, locking and syncing work on a node's own environment only: on a shared-env
node they would be undone at its next run (the shared environment wins), so they are refused,
naming the way out.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from nodepipe.domain.errors import Action, ConflictError, Hint
from nodepipe.domain.model import Node
from nodepipe.envs.interpreters import installed_packages, untrusted
from nodepipe.workspace.node_config import NodeConfig, read_node_config


def isolation_label(config: NodeConfig) -> str:
    """``own``, ``shared:NAME`` or ``interpreter:PATH``."""
    if config.interpreter is not None:
        return f"interpreter:{config.interpreter}"
    if config.shared_env is not None:
        return f"shared:{config.shared_env}"
    return "own"


def isolation_of(code: Path) -> str:
    """The isolation label of the node whose code folder is ``code``."""
    return isolation_label(read_node_config(code / "pyproject.toml"))


def not_installed(code: Path, locked: Collection[str]) -> tuple[str, ...]:
    """Of the ``locked`` packages, those the node's existing interpreter (``env interpreter``)
    does not have: nothing installs them there. Empty for a node with an environment."""
    interpreter = read_node_config(code / "pyproject.toml").interpreter
    if interpreter is None or not locked or untrusted(interpreter) is not None:
        return ()  # an interpreter that may not be run is not asked (env show says so)
    from packaging.utils import canonicalize_name

    found = installed_packages(interpreter)
    have = found if found is not None else frozenset()
    return tuple(sorted(p for p in locked if canonicalize_name(p) not in have))


def interpreter_warning(tag: str, isolation: str, missing: Collection[str]) -> tuple[str, ...]:
    """The warning ``env interpreter`` and ``env show`` give about ``missing``."""
    if not missing:
        return ()
    where = isolation.removeprefix("interpreter:")
    return (
        f"{tag} runs with {where}, which does not have {', '.join(missing)}: they are in its "
        "lock but are not installed there, and nodepipe installs nothing into an existing "
        f"interpreter; install them into it, or give {tag} its own environment again",
    )


def check_own_environment(node: Node, code: Path) -> None:
    """ConflictError (hinting ``env detach``) unless the node has its own environment."""
    config = read_node_config(code / "pyproject.toml")
    if config.shared_env is not None:
        why = (
            f"node {node.tag!r} uses the shared environment {config.shared_env!r}, not one of its "
            "own: its packages are the shared environment's (change those for every node using "
            "it)"
        )
    elif config.interpreter is not None:
        why = (
            f"node {node.tag!r} runs with the interpreter {config.interpreter} and has no "
            "environment of its own"
        )
    else:
        return
    raise ConflictError(why, hint=Hint(Action.ENV_DETACH, {"node": node.id, "tag": node.tag}))
