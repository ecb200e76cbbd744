"""The library nodes a past run's environment installs from, checked before it is restored.

A run records its node's ``pyproject.toml`` as it was; a package installed from a library
node (``env add --from-node``) is a path into that node's folder there, and the library's
code itself is not stored with the run (only hashed). When that library node was replaced
(``node replace``) or removed since, restoring would hand uv a folder that is not there, and
uv would fail in its own words; ``check_libraries_present`` says instead, before anything
changes, which library node is gone, what the node installs now, and what to do.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from nodepipe.domain.errors import ConflictError, InvalidInputError
from nodepipe.services.context import WorkspaceContext
from nodepipe.workspace.external_code import declared_library_nodes, library_nodes, path_sources


def check_libraries_present(
    context: WorkspaceContext, tag: str, run_id: str, pyproject: bytes, code: Path
) -> None:
    """ConflictError naming each library node that run ``run_id``'s ``pyproject`` of node
    ``tag`` (whose ``code/`` folder is ``code``) installs a package from, whose folder for it
    is gone; nothing when there is none."""
    try:
        recorded = tomllib.loads(pyproject.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # not a project uv can read: its sync says so
    sources = path_sources(recorded)
    gone = {
        package: library
        for package, library in declared_library_nodes(recorded).items()
        if package in sources and not (code / str(sources[package]["path"])).resolve().is_dir()
    }
    if not gone:
        return
    raise ConflictError(
        f"the environment node {tag!r} had in run {run_id} cannot be restored: "
        + "; ".join(_told(context, code, package, library) for package, library in gone.items())
        + ". A library node's code is not stored with a run, so nothing was changed: restore a "
        f"run of {tag!r} made since, or run it to record one"
    )


def _told(context: WorkspaceContext, code: Path, package: str, library: str) -> str:
    """What became of the library node ``library`` that ``package`` was installed from."""
    with context.store.read() as session:
        old = session.get_node(library)
        try:
            current = library_nodes(code).get(package)
        except InvalidInputError:
            current = None
        now = session.get_node(current) if current and current != library else None
    if old is not None:
        said = f"library node {old.tag!r} ({library}), which no longer holds it"
    else:
        said = f"library node {library}, which was replaced or removed since"
    instead = f" (the node installs {package} from library node {now.tag!r} now)" if now else ""
    return f"it installed {package} from {said}{instead}"
