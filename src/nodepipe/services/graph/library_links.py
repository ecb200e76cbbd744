"""Library links when their library node leaves a pipeline (``node rm``, ``node replace``).

A library link (``env add USER --from-node LIB``) is not an edge: USER's ``code/pyproject.toml``
installs a folder of LIB's ``code/`` (``../../<LIB id>/code/<folder>``) and its ``uv.lock`` says
the same. So removing LIB would leave USER pointing at a deleted folder:

- a removal that deletes LIB's folder while a node that stays links to it is refused, naming
  the users and the way out (``check_no_library_users``);
- ``node replace LIB NEW`` re-points the links of LIB's users in the pipeline to the folder of
  NEW holding the same package (``plan_repoints``, then ``repoint`` after the store commit).
  The journal records the plan before the commit; a killed replace is finished by the next
  command when its rows were committed (``recover_repoints``), and left as it was otherwise,
  so every user points at LIB or at NEW, never at a deleted folder.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodepipe.domain.errors import (
    Action,
    ConflictError,
    Hint,
    InvalidInputError,
    ReadOnlyError,
)
from nodepipe.domain.model import Node, Pipeline
from nodepipe.services.context import WorkspaceContext
from nodepipe.services.guards import check_node_editable
from nodepipe.workspace.crash_points import crash_point
from nodepipe.workspace.durable import write_atomic
from nodepipe.workspace.external_code import (
    library_nodes,
    library_packages,
    library_path_part,
    path_sources,
    set_library_nodes,
)
from nodepipe.workspace.node_config import read_pyproject

if TYPE_CHECKING:
    from nodepipe.store.queries import StoreSession

RELINK_KEY = "relink"
"""The journal intent of a replace that re-points library links (see ``recover_repoints``)."""


@dataclass(frozen=True, slots=True)
class LibraryUse:
    """Node ``user`` installs ``packages`` from a library node's folder."""

    user: Node
    packages: tuple[str, ...]


def library_users(
    context: WorkspaceContext,
    session: StoreSession,
    library_ids: Collection[str],
    excluding: Collection[str] = (),
) -> dict[str, list[LibraryUse]]:
    """Library node id -> the nodes (other than ``excluding``) installing a package from its
    folder. Each node's pyproject is read as text first: only a node naming a library node's
    folder is parsed."""
    parts = {library: library_path_part(library) for library in library_ids}
    found: dict[str, list[LibraryUse]] = {}
    if not parts:
        return found
    for node in session.list_nodes():
        if node.id in excluding or node.id in parts:
            continue
        code = context.layout.node_folder(node.id).code
        try:
            text = (code / "pyproject.toml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        named = [library for library, part in parts.items() if part in text]
        if not named:
            continue
        sources = _sources(code)
        for library in named:
            packages = tuple(sorted(p for p, path in sources.items() if parts[library] in path))
            if packages:
                found.setdefault(library, []).append(LibraryUse(node, packages))
    return found


def check_no_library_users(
    context: WorkspaceContext,
    session: StoreSession,
    pipeline: Pipeline,
    deleted: Collection[Node],
    action: str,
    excluding: Collection[str] = (),
) -> None:
    """ConflictError when a node that stays links to one of the library nodes whose folders
    are ``deleted`` (``excluding``: users that will not); ``action`` ("removing the node") is
    what was refused, in words every surface shares. Called before the rows go."""
    libraries = {node.id: node for node in deleted}
    users = library_users(context, session, libraries, excluding={*libraries, *excluding})
    if not users:
        return
    showing = session.pipelines_showing([u.user.id for uses in users.values() for u in uses])
    tags: dict[str, str] = {}
    for pipeline_id in {p for ids in showing.values() for p in ids}:
        found = session.get_pipeline(pipeline_id)
        tags[pipeline_id] = found.tag if found is not None else pipeline_id
    lines = []
    for library_id, uses in sorted(users.items()):
        named = ", ".join(
            f"{use.user.tag} ({use.user.id}, package {', '.join(use.packages)}"
            f"{_shown_in(showing.get(use.user.id, []), tags)})"
            for use in uses
        )
        lines.append(f"{libraries[library_id].tag!r} is the library node of {named}")
    first_library, first_uses = next(iter(sorted(users.items())))
    use = first_uses[0]
    params = {
        "library": libraries[first_library].tag,
        "user": use.user.tag,
        "user_id": use.user.id,
        "package": use.packages[0],
        "pipeline": pipeline.tag,
    }
    raise ConflictError(
        f"{action} was refused: {'; '.join(lines)}. Its folder would be deleted, and they could "
        "not run; nothing was changed",
        hint=Hint(Action.LIBRARY_UNLINK, params),
    )


def _shown_in(pipeline_ids: list[str], tags: dict[str, str]) -> str:
    """ ", in pipeline(s) …" naming where a library user is shown (every pipeline, this one too)."""
    named = sorted(tags[p] for p in pipeline_ids)
    if not named:
        return ""
    return f", in pipeline{'s' if len(named) > 1 else ''} {', '.join(named)}"


def plan_repoints(
    context: WorkspaceContext, session: StoreSession, target: Pipeline, old: Node, new: Node
) -> dict[str, dict[str, str]]:
    """User id -> {old path: new path} for each node shown in ``target`` that links to
    ``old`` as a library node: the folder of ``new`` holding the same package. Refused when
    ``new`` holds no such package, or a user is read-only here."""
    shown = {m.node_id for m in session.memberships_of_pipeline(target.id)}
    uses = library_users(context, session, [old.id], excluding=[new.id])
    uses_here = [use for use in uses.get(old.id, []) if use.user.id in shown]
    if not uses_here:
        return {}
    new_code = context.layout.node_folder(new.id).code
    held = library_packages(new_code) if new_code.is_dir() else {}
    plan: dict[str, dict[str, str]] = {}
    for use in sorted(uses_here, key=lambda u: u.user.tag):
        missing = [p for p in use.packages if p not in held]
        if missing:
            raise InvalidInputError(
                f"cannot replace {old.tag!r} by {new.tag!r}: {use.user.tag!r} installs "
                f"{', '.join(missing)} from {old.tag!r}, and {new.tag!r} holds no package of "
                f"that name (it holds: {', '.join(sorted(held)) or 'none'}); nothing was changed"
            )
        try:
            check_node_editable(session, use.user, target)
        except ReadOnlyError as error:
            raise ReadOnlyError(
                f"cannot replace {old.tag!r} by {new.tag!r}: its library user "
                f"{use.user.tag!r} cannot be changed here ({error}); nothing was changed",
                hint=error.hint,
            ) from error
        sources = _sources(context.layout.node_folder(use.user.id).code)
        plan[use.user.id] = {
            sources[package]: library_path_part(new.id)
            + held[package].relative_to(new_code).as_posix()
            for package in use.packages
        }
    return plan


def repoint(
    context: WorkspaceContext, plan: Mapping[str, Mapping[str, str]], old: str, new: str
) -> None:
    """Apply ``plan_repoints``'s plan: each user's pyproject.toml and uv.lock name the new
    folders, and its library links name ``new``. Doing it again changes nothing."""
    for user_id, paths in sorted(plan.items()):
        code = context.layout.node_folder(user_id).code
        for name in ("pyproject.toml", "uv.lock"):
            file = code / name
            if not file.is_file():
                continue
            text = before = file.read_text(encoding="utf-8")
            for old_path, new_path in paths.items():
                text = text.replace(f'"{old_path}"', f'"{new_path}"')
            if text != before:
                write_atomic(file, text)
            crash_point("relink.file")
        links = library_nodes(code)
        if old in links.values():
            set_library_nodes(
                code / "pyproject.toml", {k: new if v == old else v for k, v in links.items()}
            )


def relink_intent(
    target: Pipeline,
    old: Node,
    new: Node,
    keep: bool,
    children: Collection[str],
    plan: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """What the journal records before the commit, for ``recover_repoints``."""
    return {
        "pipeline": target.id,
        "old": old.id,
        "new": new.id,
        "keep": keep,
        "children": sorted(children),
        "users": {user: dict(paths) for user, paths in plan.items()},
    }


def recover_repoints(context: WorkspaceContext, intent: Mapping[str, Any]) -> None:
    """Finish the re-pointing of a killed replace whose rows were committed: OLD has left the
    pipeline or, with ``keep``, a child now reads NEW (with no child to move, the links are
    all the replace changes). Uncommitted: nothing was re-pointed yet, nothing to undo."""
    relink = intent.get(RELINK_KEY)
    if not isinstance(relink, dict):
        return
    old, new, pipeline = relink.get("old"), relink.get("new"), relink.get("pipeline")
    users = relink.get("users")
    if not (isinstance(old, str) and isinstance(new, str) and isinstance(pipeline, str)):
        return
    if not isinstance(users, dict):
        return
    children = [c for c in relink.get("children", []) if isinstance(c, str)]
    with context.store.read() as session:
        if relink.get("keep"):
            moved = any(e.parent_id == new for e in session.edges_into(children))
            committed = moved or not children
        else:
            shown = {m.node_id for m in session.memberships_of_pipeline(pipeline)}
            committed = old not in shown
    if committed:
        plan = {
            user: {str(k): str(v) for k, v in paths.items()}
            for user, paths in users.items()
            if isinstance(paths, dict)
        }
        repoint(context, plan, old, new)


def _sources(code: Path) -> dict[str, str]:
    """Package -> the folder its path source names, as written."""
    try:
        data = read_pyproject(code / "pyproject.toml", shared=True)
    except InvalidInputError:
        return {}
    return {package: str(source["path"]) for package, source in path_sources(data).items()}
