"""What cannot travel to a worker that shares no filesystem with the workspace.

Without a shared filesystem (``--no-shared-fs``) a node task carries the node's ``code/`` and
the folders on its import path (code paths, bundle code); the worker builds the environment
from the node's lock. What lives only on this machine cannot go with it: an existing
interpreter a node runs with (``env interpreter``), a shared environment (``env use-shared``),
and a package installed from a folder outside the node (a shared checkout, a ``--path``
project, a library node). A run is refused before anything starts when a node it would run
needs one of them, naming each node and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.runs.status import NodeStatusView
from nodepipe.workspace.external_code import CODE_PATH, external_code
from nodepipe.workspace.node_config import read_node_config

_NO_SHARED_FS = "which a worker without the workspace's filesystem cannot have"


def check_travels(context: WorkspaceContext, nodes: Iterable[NodeStatusView]) -> None:
    """InvalidInputError naming every node of ``nodes`` whose run would need what cannot
    travel; its hint gives the first one an environment of its own (which travels as its
    lock)."""
    isolated: list[str] = []
    external: list[str] = []
    first: tuple[str, str] | None = None  # (id, tag)
    for status in nodes:
        tag = status.item.node.tag
        code = context.layout.node_dir(status.node_id) / "code"
        config = status.config or read_node_config(code / "pyproject.toml")
        if config.interpreter is not None:
            isolated.append(f"{tag} runs with the interpreter {config.interpreter}")
        elif config.shared_env is not None:
            isolated.append(f"{tag} uses the shared environment {config.shared_env!r}")
        else:
            outside = [item for item in external_code(code) if item.kind != CODE_PATH]
            named = ", ".join(f"{item.kind} {item.name} at {item.path}" for item in outside)
            if named:
                external.append(f"{tag} installs {named}")
            continue
        first = first or (status.node_id, tag)
    if not isolated and not external:
        return
    said = []
    if isolated:
        said.append(
            f"{'; '.join(isolated)}, {_NO_SHARED_FS} (an environment of its own travels: the "
            "worker builds the same packages from its lock)"
        )
    if external:
        said.append(
            f"{'; '.join(external)}: code outside the node's folder, {_NO_SHARED_FS} (take a "
            "snapshot of it into the node instead)"
        )
    raise InvalidInputError(
        f"cannot run on workers without a shared filesystem: {'; '.join(said)}; or run with "
        "a shared filesystem",
        hint=Hint(Action.ENV_DETACH, {"node": first[0], "tag": first[1]}) if first else None,
    )
